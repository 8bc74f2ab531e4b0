/* The peer set: which nodes the registry says should be connected (wanted), which the local
 * node is connected to, per-peer exponential backoff for those that do not answer, and the
 * joined / lost changes between two looks at nodes(). Time is passed in (milliseconds on any
 * monotonic clock) so the logic is testable. */
#ifndef ECB_AGENT_PEERS_H
#define ECB_AGENT_PEERS_H

#include "common/strlist.h"

#include <stdbool.h>
#include <stdint.h>

struct peer {
    char *name;
    bool wanted;             /* listed by the registry in its last good answer */
    bool connected;          /* in the local node's nodes() at the last look */
    unsigned failures;       /* connection attempts since it was last connected */
    int64_t next_attempt_ms; /* when to try connecting again */
    bool cookie_refused;     /* it refused our handshake: a different cookie */
    bool was_connected;      /* connected at some look: missing now means lost */
    bool unreachable;        /* its port did not answer the last probe (loop_heal.c) */
    int64_t redialled_at;    /* dialled as its port answered again (loop_heal.c); 0: not */
    bool verified;           /* passed the agent's own handshake under this name, or was
                                connected: the app node may dial it (peer_verify.c) */
};

struct peer_set {
    struct peer *items;
    size_t len;
    size_t cap;
    int64_t backoff_base_ms;
    int64_t backoff_cap_ms;
    int64_t refused_retry_ms; /* between attempts at a peer that refused our cookie */
};

struct peer_changes {
    struct strlist joined;
    struct strlist lost;
};

void peer_set_init(struct peer_set *set, int64_t backoff_base_ms, int64_t backoff_cap_ms);
/* refused_retry_ms defaults to backoff_cap_ms; set it after init. */
void peer_set_free(struct peer_set *set);

/* The registry's latest list. New names are due at once. A name no longer listed stops being
 * wanted (it is never disconnected); it is forgotten once it is not connected either. */
int peer_set_update_wanted(struct peer_set *set, const struct strlist *wanted, int64_t now_ms);

/* The local node's nodes(). Fills changes (empty on entry) with peers that joined or were lost
 * since the last call; a lost wanted peer is due again at once. */
int peer_set_update_connected(struct peer_set *set, const struct strlist *nodes, int64_t now_ms,
                              struct peer_changes *changes);

/* Wanted, unconnected peers whose backoff has run out: appended to due, and each one's next
 * attempt is pushed back by its backoff (base * 2^failures, at most cap). */
int peer_set_take_due(struct peer_set *set, int64_t now_ms, struct strlist *due);

/* The peer refused our cookie: it is tried again only every refused_retry_ms (a node's
 * cookie does not change while it runs). Returns true when this is news (it was not marked
 * yet), so the caller says so once. */
bool peer_set_mark_cookie_refused(struct peer_set *set, const char *name, int64_t now_ms);

/* The peer accepted our cookie after all (a probe got through): back to the usual backoff.
 * Returns true when it was marked refused. */
bool peer_set_clear_cookie_refused(struct peer_set *set, const char *name);

/* The peer of that name, or NULL. */
struct peer *peer_set_find(struct peer_set *set, const char *name);

/* A due peer that was not tried after all (no time left to verify it): as if it had not been
 * taken, due again at now_ms. */
void peer_set_defer(struct peer *p, int64_t now_ms);

/* Every wanted peer is unconnected, and some of them were connected before: lost. */
bool peer_set_all_lost(const struct peer_set *set);

/* Some wanted, unconnected peer refused our cookie. */
bool peer_set_has_cookie_refused(const struct peer_set *set);

/* The backoff after the given number of failed attempts (1 = first). */
int64_t peer_backoff_ms(const struct peer_set *set, unsigned failures);

/* Earliest next attempt among wanted unconnected peers, or INT64_MAX. */
int64_t peer_set_next_attempt(const struct peer_set *set);

/* Every wanted peer is connected. */
bool peer_set_complete(const struct peer_set *set);

/* Some wanted peer is unconnected and has failed fewer than max_failures times (it may be
 * just starting, so it is worth looking often). */
bool peer_set_has_fresh_unconnected(const struct peer_set *set, unsigned max_failures);

/* How many peers are wanted, and how many of those are connected (for status). */
size_t peer_set_count_wanted(const struct peer_set *set);
size_t peer_set_count_connected_wanted(const struct peer_set *set);

void peer_changes_clear(struct peer_changes *changes);

#endif
