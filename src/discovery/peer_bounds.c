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

/* One pass over the names still in: keep[i] is cleared for those the bound refuses. Names the
 * agent verified (its own handshake, or connected) come first; merely being listed before
 * earns nothing, as a registry writer can list made-up names for as long as it likes. The
 * others are taken in turns (order: their indexes starting at the rotating cursor), so that
 * every listed name is considered within a bounded number of answers. */
struct pass {
    const struct strlist *peers;
    const bool *verified;
    bool *keep;
    const size_t *order; /* the unverified names still in, from this answer's starting point */
    size_t order_len;
};

struct host_counts {
    size_t verified;   /* verified names at the address */
    size_t unverified; /* the others */
    size_t seen;       /* unverified ones met so far in the second pass */
};

static int host_slot(struct nameset *hosts, const char *host, size_t *slot)
{
    if (nameset_add(hosts, host, hosts->len) < 0)
        return -1;
    nameset_find(hosts, host, slot);
    return 0;
}

/* At most PEER_BOUND_NAMES_PER_ADDRESS names per host part: the verified ones, then a window
 * of the others that moves on by its own size every answer (turn). */
static int bound_per_address(const struct pass *ps, uint64_t turn, size_t *dropped,
                             const char **example)
{
    size_t n = ps->peers->len;
    struct nameset hosts;
    struct host_counts *at = calloc(n ? n : 1, sizeof *at);
    if (at == NULL || nameset_init(&hosts, n) != 0) {
        free(at);
        return -1;
    }
    size_t *slots = calloc(n ? n : 1, sizeof *slots);
    int rc = slots == NULL ? -1 : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!ps->keep[i])
            continue;
        const char *host = host_of(ps->peers->items[i]);
        rc = host_slot(&hosts, host, &slots[i]);
        if (rc != 0)
            break;
        struct host_counts *h = &at[slots[i]];
        if (!ps->verified[i]) {
            h->unverified++;
        } else if (++h->verified > PEER_BOUND_NAMES_PER_ADDRESS) {
            ps->keep[i] = false;
            ++*dropped;
            *example = host;
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!ps->keep[i] || ps->verified[i])
            continue;
        struct host_counts *h = &at[slots[i]];
        size_t room = h->verified >= PEER_BOUND_NAMES_PER_ADDRESS
                          ? 0
                          : PEER_BOUND_NAMES_PER_ADDRESS - h->verified;
        size_t c = h->unverified;
        size_t offset = room == 0 ? 0 : (size_t)(turn % c) * room % c;
        size_t rank = (h->seen++ + c - offset) % c;
        if (rank >= room) {
            ps->keep[i] = false;
            ++*dropped;
            *example = host_of(ps->peers->items[i]);
        }
    }
    nameset_free(&hosts);
    free(slots);
    free(at);
    return rc;
}

/* At most PEER_BOUND_PEERS names, verified ones first, then the others in this answer's
 * order. *first_cut: the position in that order of the first name refused. */
static void bound_per_answer(const struct pass *ps, size_t *dropped, size_t *first_cut)
{
    size_t kept = 0;
    for (size_t i = 0; i < ps->peers->len; i++) {
        if (!ps->keep[i] || !ps->verified[i])
            continue;
        if (kept < PEER_BOUND_PEERS) {
            kept++;
        } else {
            ps->keep[i] = false;
            ++*dropped;
        }
    }
    for (size_t p = 0; p < ps->order_len; p++) {
        size_t i = ps->order[p];
        if (!ps->keep[i])
            continue;
        if (kept < PEER_BOUND_PEERS) {
            kept++;
        } else {
            ps->keep[i] = false;
            ++*dropped;
            if (p < *first_cut)
                *first_cut = p;
        }
    }
}

/* At most PEER_BOUND_NEW_PER_MINUTE new names a minute: neither verified nor passed on by
 * the last answer (a name being verified is not counted again at every answer). */
static void bound_rate(struct peer_bounds *b, const struct pass *ps, const bool *passed_before,
                       int64_t now_ms, size_t *dropped, size_t *first_cut)
{
    if (b->window_start_ms == INT64_MIN || now_ms - b->window_start_ms >= RATE_WINDOW_MS) {
        /* A flood goes on across minutes: said again only after a whole minute within. */
        if (!b->rate_hit_in_window)
            b->applying[PEER_BOUND_RATE] = false;
        b->window_start_ms = now_ms;
        b->new_in_window = 0;
        b->rate_hit_in_window = false;
    }
    for (size_t p = 0; p < ps->order_len; p++) {
        size_t i = ps->order[p];
        if (!ps->keep[i] || passed_before[i])
            continue;
        if (b->new_in_window < PEER_BOUND_NEW_PER_MINUTE) {
            b->new_in_window++;
        } else {
            ps->keep[i] = false;
            ++*dropped;
            b->rate_hit_in_window = true;
            if (p < *first_cut)
                *first_cut = p;
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
        LOG_WARN(b->log, "registry lists %zu peers: %zu not taken, verified ones first, the "
                         "others in turns (bound: %d peers per answer)",
                 listed, dropped, PEER_BOUND_PEERS);
        break;
    default:
        LOG_WARN(b->log, "registry lists more new names than %d a minute: %zu held back for "
                         "a later answer (bound: %d new peers per minute)",
                 PEER_BOUND_NEW_PER_MINUTE, dropped, PEER_BOUND_NEW_PER_MINUTE);
        break;
    }
}

/* The names kept, in the order listed, into *out. */
static int keep_only(struct strlist *peers, const bool *keep, struct strlist *out)
{
    for (size_t i = 0; i < peers->len; i++)
        if (keep[i] && strlist_add(out, peers->items[i]) != 0)
            return -1;
    return 0;
}

/* Whether each name is in the list, into in[]. */
static int mark_listed(const struct strlist *peers, const struct strlist *list, bool *in)
{
    size_t len = list != NULL ? list->len : 0;
    struct nameset set;
    if (nameset_init(&set, len) != 0)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (nameset_add(&set, list->items[i], i) < 0) {
            nameset_free(&set);
            return -1;
        }
    for (size_t i = 0; i < peers->len; i++)
        in[i] = nameset_find(&set, peers->items[i], NULL);
    nameset_free(&set);
    return 0;
}

static void reverse(size_t *a, size_t from, size_t to)
{
    for (; from + 1 < to; from++, to--) {
        size_t t = a[from];
        a[from] = a[to - 1];
        a[to - 1] = t;
    }
}

/* This answer's order of the unverified names still in: from the cursor on, wrapping. */
static size_t rotate(const struct peer_bounds *b, const struct pass *ps, size_t *order)
{
    size_t m = 0;
    for (size_t i = 0; i < ps->peers->len; i++)
        if (ps->keep[i] && !ps->verified[i])
            order[m++] = i;
    if (m == 0)
        return 0;
    /* Rotated left by start in place: reverse both parts, then the whole. */
    size_t start = b->cursor % m;
    reverse(order, 0, start);
    reverse(order, start, m);
    reverse(order, 0, m);
    return m;
}

int peer_bounds_apply(struct peer_bounds *b, struct strlist *peers,
                      const struct strlist *verified, int64_t now_ms)
{
    size_t n = peers->len;
    bool *keep = calloc(n ? n : 1, sizeof *keep);
    bool *is_verified = calloc(n ? n : 1, sizeof *is_verified);
    bool *passed_before = calloc(n ? n : 1, sizeof *passed_before);
    size_t *order = calloc(n ? n : 1, sizeof *order);
    int rc = keep && is_verified && passed_before && order ? 0 : -1;
    if (rc == 0)
        rc = mark_listed(peers, verified, is_verified);
    if (rc == 0)
        rc = mark_listed(peers, &b->taken, passed_before);
    size_t dropped[PEER_BOUND_COUNT] = {0};
    const char *outside = NULL, *crowded = NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        keep[i] = cidr_list_contains(b->networks, b->network_count, host_of(peers->items[i]));
        if (!keep[i]) {
            dropped[PEER_BOUND_NETWORK]++;
            outside = peers->items[i];
        }
    }
    struct pass ps = {.peers = peers, .verified = is_verified, .keep = keep, .order = order};
    if (rc == 0)
        rc = bound_per_address(&ps, b->turn, &dropped[PEER_BOUND_PER_ADDRESS], &crowded);
    struct strlist out = {0};
    size_t first_cut = SIZE_MAX;
    if (rc == 0) {
        ps.order_len = rotate(b, &ps, order);
        bound_per_answer(&ps, &dropped[PEER_BOUND_PER_ANSWER], &first_cut);
        int64_t saved_start = b->window_start_ms;
        size_t saved_new = b->new_in_window;
        bool saved_hit = b->rate_hit_in_window;
        bound_rate(b, &ps, passed_before, now_ms, &dropped[PEER_BOUND_RATE], &first_cut);
        rc = keep_only(peers, keep, &out);
        if (rc == 0)
            rc = strlist_assign(&b->taken, &out);
        if (rc != 0) {
            b->window_start_ms = saved_start;
            b->new_in_window = saved_new;
            b->rate_hit_in_window = saved_hit;
        }
    }
    free(keep);
    free(is_verified);
    free(passed_before);
    free(order);
    if (rc != 0) {
        strlist_clear(&out);
        return -1;
    }
    /* The next answer starts at the first name this one refused (the rest were taken). */
    if (first_cut != SIZE_MAX && ps.order_len > 0)
        b->cursor = (b->cursor % ps.order_len + first_cut) % ps.order_len;
    b->turn++;
    say(b, PEER_BOUND_NETWORK, dropped[PEER_BOUND_NETWORK], n, outside);
    say(b, PEER_BOUND_PER_ADDRESS, dropped[PEER_BOUND_PER_ADDRESS], n, crowded);
    say(b, PEER_BOUND_PER_ANSWER, dropped[PEER_BOUND_PER_ANSWER], n, NULL);
    say(b, PEER_BOUND_RATE, dropped[PEER_BOUND_RATE], n, NULL);
    strlist_clear(peers);
    *peers = out;
    return 0;
}

/* --- The wrapped back end ------------------------------------------------------------------- */

struct bounded {
    struct registry_backend inner;
    struct peer_bounds bounds;
    struct strlist verified; /* as the agent last told */
};

static int bounded_tell_verified(void *state, const struct strlist *names)
{
    struct bounded *w = state;
    return strlist_assign(&w->verified, names);
}

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
    if (peer_bounds_apply(&w->bounds, peers, &w->verified, now_ms) != 0) {
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
    strlist_clear(&w->verified);
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
    backend->tell_verified = bounded_tell_verified;
    return 0;
}
