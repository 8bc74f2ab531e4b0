#include "common/nameset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NAMESET_MIN_CAP 16

static uint64_t name_hash(const char *name)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a, 64 bits */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    /* A multiply only carries upwards: fold the high bits into the low ones the mask keeps,
     * or names that differ only in their last digits crowd into neighbouring slots. */
    return h ^ (h >> 32);
}

/* The slot holding name, or the empty slot where it would go. The table is never full. */
static struct nameset_slot *slot_for(const struct nameset *set, const char *name)
{
    size_t mask = set->cap - 1;
    for (size_t i = (size_t)name_hash(name) & mask;; i = (i + 1) & mask) {
        struct nameset_slot *slot = &set->slots[i];
        if (!slot->name || strcmp(slot->name, name) == 0)
            return slot;
    }
}

/* Smallest power of two that keeps `count` names at most half full. */
static size_t capacity_for(size_t count)
{
    size_t cap = NAMESET_MIN_CAP;
    while (cap / 2 < count && cap < SIZE_MAX / 4)
        cap *= 2;
    return cap;
}

static int rehash(struct nameset *set, size_t cap)
{
    struct nameset_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    struct nameset bigger = {.slots = slots, .cap = cap, .len = set->len};
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i].name)
            *slot_for(&bigger, set->slots[i].name) = set->slots[i];
    free(set->slots);
    *set = bigger;
    return 0;
}

int nameset_init(struct nameset *set, size_t expected)
{
    *set = (struct nameset){0};
    return rehash(set, capacity_for(expected));
}

int nameset_add(struct nameset *set, const char *name, size_t value)
{
    if (set->cap == 0 || (set->len + 1) > set->cap / 2) {
        if (rehash(set, capacity_for(set->len + 1)) != 0)
            return -1;
    }
    struct nameset_slot *slot = slot_for(set, name);
    if (slot->name)
        return 0;
    *slot = (struct nameset_slot){.name = name, .value = value};
    set->len++;
    return 1;
}

bool nameset_find(const struct nameset *set, const char *name, size_t *value)
{
    if (set->cap == 0)
        return false;
    const struct nameset_slot *slot = slot_for(set, name);
    if (!slot->name)
        return false;
    if (value)
        *value = slot->value;
    return true;
}

void nameset_free(struct nameset *set)
{
    free(set->slots);
    *set = (struct nameset){0};
}
