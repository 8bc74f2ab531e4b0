/* How much of a registry's answer the agent takes. A registry (Eureka above all: anyone bound
 * to the same Spring Cloud Services instance, or anyone at all for an open one, can write to
 * it) decides which names the agent verifies and the app node dials, so its answers are
 * bounded: only addresses inside the peer networks (ERLANG_CLUSTER_PEER_NETWORK), at most
 * PEER_BOUND_NAMES_PER_ADDRESS names per address, PEER_BOUND_PEERS per answer and
 * PEER_BOUND_NEW_PER_MINUTE new names (neither verified nor passed on by the last answer) per
 * minute. Each bound sits far above a real cluster (the README measures 64 instances; a full
 * Erlang mesh of more than a thousand nodes is not practical). Priority goes only to the names
 * the agent verified (its own handshake, or connected: told through tell_verified), never to
 * names merely listed before, which anyone writing to the registry can keep listed; the other
 * names are taken in turns from answer to answer, so a real instance listed among made-up ones
 * is considered within a bounded number of answers and, once verified, always kept. Each
 * bound says so in one line when it starts to apply (not once per poll). Wraps the eureka and dns back ends (registry.c); a static list is the
 * user's own and is taken as it is. */
#ifndef ECB_DISCOVERY_PEER_BOUNDS_H
#define ECB_DISCOVERY_PEER_BOUNDS_H

#include "common/cidr.h"
#include "common/log.h"
#include "common/strlist.h"
#include "discovery/registry.h"

#include <stdbool.h>
#include <stdint.h>

#define PEER_BOUND_PEERS 1024
#define PEER_BOUND_NEW_PER_MINUTE 1024
#define PEER_BOUND_NAMES_PER_ADDRESS 8

enum peer_bound {
    PEER_BOUND_NETWORK,
    PEER_BOUND_PER_ADDRESS,
    PEER_BOUND_PER_ANSWER,
    PEER_BOUND_RATE,
    PEER_BOUND_COUNT
};

struct peer_bounds {
    struct cidr *networks;
    size_t network_count;
    char *network_text;           /* as configured, for the log */
    struct strlist taken;         /* the names the last answer passed on (rate bound) */
    size_t cursor;                /* where the next answer's turn of unverified names starts */
    uint64_t turn;                /* answers so far: moves each address's window on */
    int64_t window_start_ms;      /* the current minute of the rate bound */
    size_t new_in_window;
    bool rate_hit_in_window;      /* the rate bound dropped a name in this minute */
    bool applying[PEER_BOUND_COUNT]; /* said so already; cleared when an answer is within it */
    size_t dropped[PEER_BOUND_COUNT]; /* by the last answer */
    const struct log_sink *log;   /* NULL: silent (tests) */
};

/* network: ERLANG_CLUSTER_PEER_NETWORK's value, or NULL for CIDR_DEFAULT_PEER_NETWORK.
 * Returns -1 with err set on a bad list (the configuration checked it already) or no
 * memory. */
int peer_bounds_init(struct peer_bounds *b, const char *network, const struct log_sink *log,
                     char *err, size_t errlen);
void peer_bounds_free(struct peer_bounds *b);

/* Takes out of peers (node names base@address) what the bounds refuse, logs each bound that
 * starts to apply, and remembers what it passed on. verified (NULL: none) are the names the
 * agent verified or is connected to: kept first. Returns -1 when out of memory (peers is then
 * unchanged, and nothing is remembered). */
int peer_bounds_apply(struct peer_bounds *b, struct strlist *peers,
                      const struct strlist *verified, int64_t now_ms);

/* Wraps a back end's discover with the bounds (and its other calls unchanged); its
 * tell_verified keeps the names the bounds put first. On failure
 * (-1, err set) the back end is left as it was, for its owner to destroy. */
int peer_bounds_wrap(struct registry_backend *backend, const char *network,
                     const struct log_sink *log, char *err, size_t errlen);

#endif
