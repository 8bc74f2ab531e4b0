#include "agent/peers.h"

#include "common/nameset.h"

#include <stdlib.h>
#include <string.h>

void peer_set_init(struct peer_set *set, int64_t backoff_base_ms, int64_t backoff_cap_ms)
{
    memset(set, 0, sizeof *set);
    set->backoff_base_ms = backoff_base_ms;
    set->backoff_cap_ms = backoff_cap_ms;
    set->refused_retry_ms = backoff_cap_ms;
}

static struct peer *find_peer(struct peer_set *set, const char *name)
{
    for (size_t i = 0; i < set->len; i++)
        if (strcmp(set->items[i].name, name) == 0)
            return &set->items[i];
    return NULL;
}

struct peer *peer_set_find(struct peer_set *set, const char *name)
{
    return find_peer(set, name);
}

void peer_set_defer(struct peer *p, int64_t now_ms)
{
    if (p->failures > 0)
        p->failures--;
    p->next_attempt_ms = now_ms;
}

bool peer_set_mark_cookie_refused(struct peer_set *set, const char *name, int64_t now_ms)
{
    struct peer *p = find_peer(set, name);
    if (p == NULL)
        return false;
    bool news = !p->cookie_refused;
    p->cookie_refused = true;
    p->next_attempt_ms = now_ms + set->refused_retry_ms;
    return news;
}

bool peer_set_clear_cookie_refused(struct peer_set *set, const char *name)
{
    struct peer *p = find_peer(set, name);
    if (p == NULL || !p->cookie_refused)
        return false;
    p->cookie_refused = false;
    return true;
}

bool peer_set_has_cookie_refused(const struct peer_set *set)
{
    for (size_t i = 0; i < set->len; i++)
        if (set->items[i].wanted && !set->items[i].connected && set->items[i].cookie_refused)
            return true;
    return false;
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

/* An index of the peers' names -> positions in set->items, with room for `extra` more. */
static int index_peers(const struct peer_set *set, size_t extra, struct nameset *index)
{
    if (nameset_init(index, set->len + extra) != 0)
        return -1;
    for (size_t i = 0; i < set->len; i++)
        if (nameset_add(index, set->items[i].name, i) < 0) {
            nameset_free(index);
            return -1;
        }
    return 0;
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
    struct nameset index;
    if (index_peers(set, wanted->len, &index) != 0)
        return -1;
    for (size_t i = 0; i < set->len; i++)
        set->items[i].wanted = false;
    for (size_t i = 0; i < wanted->len; i++) {
        size_t at;
        struct peer *p;
        if (nameset_find(&index, wanted->items[i], &at)) {
            p = &set->items[at];
        } else {
            p = add_peer(set, wanted->items[i]);
            if (!p || nameset_add(&index, p->name, set->len - 1) < 0) {
                nameset_free(&index);
                return -1;
            }
            p->next_attempt_ms = now_ms;
        }
        p->wanted = true;
    }
    nameset_free(&index);
    forget_unneeded(set);
    return 0;
}

int peer_set_update_connected(struct peer_set *set, const struct strlist *nodes, int64_t now_ms,
                              struct peer_changes *changes)
{
    struct nameset listed, known;
    if (nameset_init(&listed, nodes->len) != 0)
        return -1;
    if (index_peers(set, nodes->len, &known) != 0) {
        nameset_free(&listed);
        return -1;
    }
    int status = 0;
    for (size_t i = 0; i < nodes->len && status == 0; i++)
        if (nameset_add(&listed, nodes->items[i], i) < 0)
            status = -1;
    for (size_t i = 0; i < set->len && status == 0; i++) {
        struct peer *p = &set->items[i];
        bool now_connected = nameset_find(&listed, p->name, NULL);
        if (now_connected && !p->connected) {
            if (strlist_add(&changes->joined, p->name) != 0) {
                status = -1;
                break;
            }
            p->failures = 0;
            p->cookie_refused = false;
            p->was_connected = true;
            p->verified = true; /* the app node holds its name already */
            p->unreachable = false;
            p->redialled_at = 0;
        } else if (!now_connected && p->connected) {
            if (strlist_add(&changes->lost, p->name) != 0) {
                status = -1;
                break;
            }
            p->failures = 0;
            p->next_attempt_ms = now_ms;
        }
        p->connected = now_connected;
    }
    for (size_t i = 0; i < nodes->len && status == 0; i++) {
        if (nameset_find(&known, nodes->items[i], NULL))
            continue;
        struct peer *p = add_peer(set, nodes->items[i]);
        if (!p || nameset_add(&known, p->name, set->len - 1) < 0 ||
            strlist_add(&changes->joined, nodes->items[i]) != 0) {
            status = -1;
            break;
        }
        p->connected = true;
        p->verified = true;
    }
    nameset_free(&listed);
    nameset_free(&known);
    if (status != 0)
        return status;
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
        p->next_attempt_ms =
            now_ms + (p->cookie_refused ? set->refused_retry_ms : peer_backoff_ms(set, p->failures));
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
        if (p->wanted && !p->connected && !p->cookie_refused && p->failures < max_failures)
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

bool peer_set_all_lost(const struct peer_set *set)
{
    bool lost = false;
    for (size_t i = 0; i < set->len; i++) {
        const struct peer *p = &set->items[i];
        if (p->wanted && p->connected)
            return false;
        lost |= p->wanted && p->was_connected;
    }
    return lost;
}
