/* An index from names to numbers (positions in a list), for the lookups that would otherwise
 * scan a list once per item: with it a registry answer of n instances is filtered and diffed
 * in O(n) instead of O(n^2). Open addressing with linear probing on an FNV-1a hash. Names are
 * borrowed, not copied: they must outlive the index. */
#ifndef ECB_COMMON_NAMESET_H
#define ECB_COMMON_NAMESET_H

#include <stdbool.h>
#include <stddef.h>

struct nameset_slot {
    const char *name; /* NULL: empty */
    size_t value;
};

struct nameset {
    struct nameset_slot *slots;
    size_t cap; /* a power of two, or 0 before the first add */
    size_t len;
};

/* Room for `expected` names without growing. Returns -1 when out of memory. */
int nameset_init(struct nameset *set, size_t expected);

/* Adds name -> value unless the name is present (its value is then left as it is).
 * Returns 1 when added, 0 when already present, -1 when out of memory. */
int nameset_add(struct nameset *set, const char *name, size_t value);

/* Whether the name is present; its value goes to *value when value is not NULL. */
bool nameset_find(const struct nameset *set, const char *name, size_t *value);

void nameset_free(struct nameset *set);

#endif
