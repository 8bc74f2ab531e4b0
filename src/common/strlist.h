/* A growable list of owned strings (peer names, node lists). */
#ifndef ECB_COMMON_STRLIST_H
#define ECB_COMMON_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct strlist {
    char **items;
    size_t len;
    size_t cap;
};

/* Appends a copy of s. Returns -1 when out of memory. */
int strlist_add(struct strlist *list, const char *s);
/* Appends a copy unless an equal string is present. */
int strlist_add_unique(struct strlist *list, const char *s);
bool strlist_contains(const struct strlist *list, const char *s);
/* Removes the first string equal to s, keeping the others' order. Returns whether it was
 * there. */
bool strlist_remove(struct strlist *list, const char *s);
void strlist_clear(struct strlist *list);
/* Makes *list a copy of *from. Returns -1 when out of memory, with *list as it was. */
int strlist_assign(struct strlist *list, const struct strlist *from);

#endif
