#include "discovery/peer_bounds.h"

#include "common/nameset.h"
#include "common/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE_WINDOW_MS 60000

int peer_bounds_init(struct peer_bounds *b, const char *network, const struct log_sink *log,
                     char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->log = log;
    const char *text = network != NULL ? network : CIDR_DEFAULT_PEER_NETWORK;
    char why[200];
    if (cidr_list_parse(text, &b->networks, &b->network_count, why, sizeof why) != 0) {
        snprintf(err, errlen, "ERLANG_CLUSTER_PEER_NETWORK: %s", why);
        return -1;
    }
    b->network_text = strdup(text);
    if (b->network_text == NULL) {
        free(b->networks);
        b->networks = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    b->window_start_ms = INT64_MIN;
    return 0;
}

void peer_bounds_free(struct peer_bounds *b)
{
    free(b->networks);
    free(b->network_text);
    strlist_clear(&b->taken);
    memset(b, 0, sizeof *b);
}

static const char *host_of(const char *name)
{
    const char *at = strchr(name, '@');
    return at != NULL ? at + 1 : "";
}

/* One pass over the names still in: keep[i] is cleared for those the bound refuses. Known
 * names (taken from the last answer) are considered before new ones, so a bound that cuts
 * keeps the members the agent already had. */
struct pass {
    const struct strlist *peers;
    const bool *known;
    bool *keep;
};

/* At most PEER_BOUND_NAMES_PER_ADDRESS names per host part. */
static int bound_per_address(const struct pass *ps, size_t *dropped, const char **example)
{
    size_t n = ps->peers->len;
    struct nameset hosts;
    size_t *counts = calloc(n ? n : 1, sizeof *counts);
    if (counts == NULL || nameset_init(&hosts, n) != 0) {
        free(counts);
        return -1;
    }
    for (int round = 0; round < 2; round++) { /* known names first, then new ones */
        for (size_t i = 0; i < n; i++) {
            if (!ps->keep[i] || ps->known[i] != (round == 0))
                continue;
            const char *host = host_of(ps->peers->items[i]);
            size_t slot = hosts.len;
            if (nameset_add(&hosts, host, slot) < 0) {
                nameset_free(&hosts);
                free(counts);
                return -1;
            }
            nameset_find(&hosts, host, &slot);
            if (++counts[slot] > PEER_BOUND_NAMES_PER_ADDRESS) {
                ps->keep[i] = false;
                ++*dropped;
                *example = host;
            }
        }
    }
    nameset_free(&hosts);
    free(counts);
    return 0;
}

/* At most PEER_BOUND_PEERS names, known ones first. */
static void bound_per_answer(const struct pass *ps, size_t *dropped)
{
    size_t kept = 0;
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < ps->peers->len; i++) {
            if (!ps->keep[i] || ps->known[i] != (round == 0))
                continue;
            if (kept < PEER_BOUND_PEERS) {
                kept++;
            } else {
                ps->keep[i] = false;
                ++*dropped;
            }
        }
}

/* At most PEER_BOUND_NEW_PER_MINUTE new names a minute. */
static void bound_rate(struct peer_bounds *b, const struct pass *ps, int64_t now_ms,
                       size_t *dropped)
{
    if (b->window_start_ms == INT64_MIN || now_ms - b->window_start_ms >= RATE_WINDOW_MS) {
        /* A flood goes on across minutes: said again only after a whole minute within. */
        if (!b->rate_hit_in_window)
            b->applying[PEER_BOUND_RATE] = false;
        b->window_start_ms = now_ms;
        b->new_in_window = 0;
        b->rate_hit_in_window = false;
    }
    for (size_t i = 0; i < ps->peers->len; i++) {
        if (!ps->keep[i] || ps->known[i])
            continue;
        if (b->new_in_window < PEER_BOUND_NEW_PER_MINUTE) {
            b->new_in_window++;
        } else {
            ps->keep[i] = false;
            ++*dropped;
            b->rate_hit_in_window = true;
        }
    }
}

/* Says that a bound applies, once until an answer is within it again. */
static void say(struct peer_bounds *b, enum peer_bound which, size_t dropped, size_t listed,
                const char *example)
{
    b->dropped[which] = dropped;
    if (dropped == 0) {
        if (which != PEER_BOUND_RATE) /* see bound_rate */
            b->applying[which] = false;
        return;
    }
    if (b->applying[which] || b->log == NULL)
        return;
    b->applying[which] = true;
    char shown[80];
    text_shown(example != NULL ? example : "", 64, shown, sizeof shown);
    switch (which) {
    case PEER_BOUND_NETWORK:
        LOG_WARN(b->log, "registry lists %zu peer(s) outside the peer networks (%s), e.g. %s: "
                         "not dialled (bound: ERLANG_CLUSTER_PEER_NETWORK; set it to your "
                         "container network's CIDR if peers live elsewhere)",
                 dropped, b->network_text, shown);
        break;
    case PEER_BOUND_PER_ADDRESS:
        LOG_WARN(b->log, "registry lists more than %d node names at one address (%s): %zu "
                         "not taken (bound: %d names per address)",
                 PEER_BOUND_NAMES_PER_ADDRESS, shown, dropped, PEER_BOUND_NAMES_PER_ADDRESS);
        break;
    case PEER_BOUND_PER_ANSWER:
        LOG_WARN(b->log, "registry lists %zu peers: %zu not taken, those known first kept "
                         "(bound: %d peers per answer)",
                 listed, dropped, PEER_BOUND_PEERS);
        break;
    default:
        LOG_WARN(b->log, "registry lists more new names than %d a minute: %zu held back for "
                         "a later answer (bound: %d new peers per minute)",
                 PEER_BOUND_NEW_PER_MINUTE, dropped, PEER_BOUND_NEW_PER_MINUTE);
        break;
    }
}

/* The names kept, known in the order listed, into *out. */
static int keep_only(struct strlist *peers, const bool *keep, struct strlist *out)
{
    for (size_t i = 0; i < peers->len; i++)
        if (keep[i] && strlist_add(out, peers->items[i]) != 0)
            return -1;
    return 0;
}

int peer_bounds_apply(struct peer_bounds *b, struct strlist *peers, int64_t now_ms)
{
    size_t n = peers->len;
    bool *keep = calloc(n ? n : 1, sizeof *keep);
    bool *known = calloc(n ? n : 1, sizeof *known);
    struct nameset taken;
    if (keep == NULL || known == NULL || nameset_init(&taken, b->taken.len) != 0) {
        free(keep);
        free(known);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < b->taken.len && rc == 0; i++)
        rc = nameset_add(&taken, b->taken.items[i], i) < 0 ? -1 : 0;
    size_t dropped[PEER_BOUND_COUNT] = {0};
    const char *outside = NULL, *crowded = NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        known[i] = nameset_find(&taken, peers->items[i], NULL);
        keep[i] = cidr_list_contains(b->networks, b->network_count, host_of(peers->items[i]));
        if (!keep[i]) {
            dropped[PEER_BOUND_NETWORK]++;
            outside = peers->items[i];
        }
    }
    struct pass ps = {.peers = peers, .known = known, .keep = keep};
    if (rc == 0)
        rc = bound_per_address(&ps, &dropped[PEER_BOUND_PER_ADDRESS], &crowded);
    struct strlist out = {0};
    if (rc == 0) {
        bound_per_answer(&ps, &dropped[PEER_BOUND_PER_ANSWER]);
        int64_t saved_start = b->window_start_ms;
        size_t saved_new = b->new_in_window;
        bound_rate(b, &ps, now_ms, &dropped[PEER_BOUND_RATE]);
        rc = keep_only(peers, keep, &out);
        if (rc != 0) {
            b->window_start_ms = saved_start;
            b->new_in_window = saved_new;
        }
    }
    nameset_free(&taken);
    free(keep);
    free(known);
    if (rc != 0) {
        strlist_clear(&out);
        return -1;
    }
    say(b, PEER_BOUND_NETWORK, dropped[PEER_BOUND_NETWORK], n, outside);
    say(b, PEER_BOUND_PER_ADDRESS, dropped[PEER_BOUND_PER_ADDRESS], n, crowded);
    say(b, PEER_BOUND_PER_ANSWER, dropped[PEER_BOUND_PER_ANSWER], n, NULL);
    say(b, PEER_BOUND_RATE, dropped[PEER_BOUND_RATE], n, NULL);
    /* What passed is what the next answer's names are known against. */
    struct strlist copy = {0};
    for (size_t i = 0; i < out.len; i++)
        if (strlist_add(&copy, out.items[i]) != 0) {
            strlist_clear(&copy);
            strlist_clear(&out);
            return -1;
        }
    strlist_clear(&b->taken);
    b->taken = copy;
    strlist_clear(peers);
    *peers = out;
    return 0;
}

/* --- The wrapped back end ------------------------------------------------------------------- */

struct bounded {
    struct registry_backend inner;
    struct peer_bounds bounds;
};

static enum registry_status bounded_register(void *state, int64_t now_ms, char *err,
                                             size_t errlen)
{
    struct bounded *w = state;
    return w->inner.register_self(w->inner.state, now_ms, err, errlen);
}

static enum registry_status bounded_renew(void *state, int64_t now_ms, char *err, size_t errlen)
{
    struct bounded *w = state;
    return w->inner.renew(w->inner.state, now_ms, err, errlen);
}

static enum registry_status bounded_discover(void *state, int64_t now_ms, struct strlist *peers,
                                             char *err, size_t errlen)
{
    struct bounded *w = state;
    enum registry_status rc = w->inner.discover(w->inner.state, now_ms, peers, err, errlen);
    if (rc != REGISTRY_OK)
        return rc;
    if (peer_bounds_apply(&w->bounds, peers, now_ms) != 0) {
        snprintf(err, errlen, "cannot bound the registry's answer: out of memory");
        return REGISTRY_FAILED;
    }
    return REGISTRY_OK;
}

static enum registry_status bounded_deregister(void *state, int64_t now_ms, long budget_ms,
                                               char *err, size_t errlen)
{
    struct bounded *w = state;
    return w->inner.deregister(w->inner.state, now_ms, budget_ms, err, errlen);
}

static void bounded_destroy(void *state)
{
    struct bounded *w = state;
    w->inner.destroy(w->inner.state);
    peer_bounds_free(&w->bounds);
    free(w);
}

int peer_bounds_wrap(struct registry_backend *backend, const char *network,
                     const struct log_sink *log, char *err, size_t errlen)
{
    struct bounded *w = calloc(1, sizeof *w);
    if (w == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (peer_bounds_init(&w->bounds, network, log, err, errlen) != 0) {
        free(w);
        return -1;
    }
    w->inner = *backend;
    backend->state = w;
    backend->register_self = bounded_register;
    backend->renew = bounded_renew;
    backend->discover = bounded_discover;
    backend->deregister = bounded_deregister;
    backend->destroy = bounded_destroy;
    return 0;
}
