#include "agent/peers.h"

#include <stdlib.h>
#include <string.h>

void peer_set_init(struct peer_set *set, int64_t backoff_base_ms, int64_t backoff_cap_ms)
{
    memset(set, 0, sizeof *set);
    set->backoff_base_ms = backoff_base_ms;
    set->backoff_cap_ms = backoff_cap_ms;
}

void peer_set_free(struct peer_set *set)
{
    for (size_t i = 0; i < set->len; i++)
        free(set->items[i].name);
    free(set->items);
    set->items = NULL;
    set->len = set->cap = 0;
}

void peer_changes_clear(struct peer_changes *changes)
{
    strlist_clear(&changes->joined);
    strlist_clear(&changes->lost);
}

static struct peer *find_peer(struct peer_set *set, const char *name)
{
    for (size_t i = 0; i < set->len; i++)
        if (strcmp(set->items[i].name, name) == 0)
            return &set->items[i];
    return NULL;
}

static struct peer *add_peer(struct peer_set *set, const char *name)
{
    if (set->len == set->cap) {
        size_t ncap = set->cap ? set->cap * 2 : 8;
        struct peer *nitems = realloc(set->items, ncap * sizeof *nitems);
        if (!nitems)
            return NULL;
        set->items = nitems;
        set->cap = ncap;
    }
    char *copy = strdup(name);
    if (!copy)
        return NULL;
    struct peer *p = &set->items[set->len++];
    *p = (struct peer){.name = copy};
    return p;
}

/* Drops peers that are neither wanted nor connected. */
static void forget_unneeded(struct peer_set *set)
{
    size_t kept = 0;
    for (size_t i = 0; i < set->len; i++) {
        if (set->items[i].wanted || set->items[i].connected)
            set->items[kept++] = set->items[i];
        else
            free(set->items[i].name);
    }
    set->len = kept;
}

int peer_set_update_wanted(struct peer_set *set, const struct strlist *wanted, int64_t now_ms)
{
    for (size_t i = 0; i < set->len; i++)
        set->items[i].wanted = false;
    for (size_t i = 0; i < wanted->len; i++) {
        struct peer *p = find_peer(set, wanted->items[i]);
        if (!p) {
            p = add_peer(set, wanted->items[i]);
            if (!p)
                return -1;
            p->next_attempt_ms = now_ms;
        }
        p->wanted = true;
    }
    forget_unneeded(set);
    return 0;
}

int peer_set_update_connected(struct peer_set *set, const struct strlist *nodes, int64_t now_ms,
                              struct peer_changes *changes)
{
    for (size_t i = 0; i < set->len; i++) {
        struct peer *p = &set->items[i];
        bool now_connected = strlist_contains(nodes, p->name);
        if (now_connected && !p->connected) {
            if (strlist_add(&changes->joined, p->name) != 0)
                return -1;
            p->failures = 0;
        } else if (!now_connected && p->connected) {
            if (strlist_add(&changes->lost, p->name) != 0)
                return -1;
            p->failures = 0;
            p->next_attempt_ms = now_ms;
        }
        p->connected = now_connected;
    }
    for (size_t i = 0; i < nodes->len; i++) {
        if (find_peer(set, nodes->items[i]))
            continue;
        struct peer *p = add_peer(set, nodes->items[i]);
        if (!p || strlist_add(&changes->joined, nodes->items[i]) != 0)
            return -1;
        p->connected = true;
    }
    forget_unneeded(set);
    return 0;
}

int64_t peer_backoff_ms(const struct peer_set *set, unsigned failures)
{
    int64_t delay = set->backoff_base_ms;
    for (unsigned i = 1; i < failures && delay < set->backoff_cap_ms; i++)
        delay *= 2;
    return delay < set->backoff_cap_ms ? delay : set->backoff_cap_ms;
}

int peer_set_take_due(struct peer_set *set, int64_t now_ms, struct strlist *due)
{
    for (size_t i = 0; i < set->len; i++) {
        struct peer *p = &set->items[i];
        if (!p->wanted || p->connected || p->next_attempt_ms > now_ms)
            continue;
        if (strlist_add(due, p->name) != 0)
            return -1;
        p->failures++;
        p->next_attempt_ms = now_ms + peer_backoff_ms(set, p->failures);
    }
    return 0;
}

int64_t peer_set_next_attempt(const struct peer_set *set)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < set->len; i++) {
        const struct peer *p = &set->items[i];
        if (p->wanted && !p->connected && p->next_attempt_ms < next)
            next = p->next_attempt_ms;
    }
    return next;
}

bool peer_set_complete(const struct peer_set *set)
{
    for (size_t i = 0; i < set->len; i++)
        if (set->items[i].wanted && !set->items[i].connected)
            return false;
    return true;
}

bool peer_set_has_fresh_unconnected(const struct peer_set *set, unsigned max_failures)
{
    for (size_t i = 0; i < set->len; i++) {
        const struct peer *p = &set->items[i];
        if (p->wanted && !p->connected && p->failures < max_failures)
            return true;
    }
    return false;
}

size_t peer_set_count_wanted(const struct peer_set *set)
{
    size_t n = 0;
    for (size_t i = 0; i < set->len; i++)
        n += set->items[i].wanted;
    return n;
}

size_t peer_set_count_connected_wanted(const struct peer_set *set)
{
    size_t n = 0;
    for (size_t i = 0; i < set->len; i++)
        n += set->items[i].wanted && set->items[i].connected;
    return n;
}
