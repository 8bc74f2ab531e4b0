#include "common/strlist.h"

#include <stdlib.h>
#include <string.h>

int strlist_add(struct strlist *list, const char *s)
{
    if (list->len == list->cap) {
        size_t ncap = list->cap ? list->cap * 2 : 8;
        char **nitems = realloc(list->items, ncap * sizeof *nitems);
        if (!nitems)
            return -1;
        list->items = nitems;
        list->cap = ncap;
    }
    char *copy = strdup(s);
    if (!copy)
        return -1;
    list->items[list->len++] = copy;
    return 0;
}

int strlist_add_unique(struct strlist *list, const char *s)
{
    return strlist_contains(list, s) ? 0 : strlist_add(list, s);
}

bool strlist_contains(const struct strlist *list, const char *s)
{
    for (size_t i = 0; i < list->len; i++)
        if (strcmp(list->items[i], s) == 0)
            return true;
    return false;
}

bool strlist_remove(struct strlist *list, const char *s)
{
    for (size_t i = 0; i < list->len; i++) {
        if (strcmp(list->items[i], s) != 0)
            continue;
        free(list->items[i]);
        memmove(&list->items[i], &list->items[i + 1], (list->len - i - 1) * sizeof *list->items);
        list->len--;
        return true;
    }
    return false;
}

void strlist_clear(struct strlist *list)
{
    for (size_t i = 0; i < list->len; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->len = list->cap = 0;
}

int strlist_assign(struct strlist *list, const struct strlist *from)
{
    struct strlist copy = {0};
    for (size_t i = 0; i < from->len; i++)
        if (strlist_add(&copy, from->items[i]) != 0) {
            strlist_clear(&copy);
            return -1;
        }
    strlist_clear(list);
    *list = copy;
    return 0;
}
