/* The dns back end's network side: both queries through c-ares, driven by poll() under one
 * deadline that also watches the interrupt fd. */
#include "discovery/dns.h"

#include "common/clock.h"
#include "common/node_name.h"
#include "discovery/dns_answer.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each family's query gets two tries; the first waits a third of the budget and c-ares
 * doubles the second, so both fit the budget with one server. The deadline below is what
 * really bounds a discovery, whatever the servers do. */
#define DNS_TRIES 2

/* A lookup whose query has not called back yet (c-ares statuses are all >= 0). */
#define LOOKUP_PENDING (-1)

/* What the last discovery saw, so that a lasting condition is logged once, not every poll. */
enum dns_seen { SEEN_NOTHING_YET, SEEN_ADDRESSES, SEEN_NO_ADDRESSES, SEEN_FAILURE };

struct dns_state {
    char *query;
    char *basename;
    char *self_ip;
    char *servers;
    long budget_ms;
    int interrupt_fd;
    const struct log_sink *log;
    enum dns_seen seen;
    bool library_ready;
};

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)timeouts;
    dns_lookup_record(arg, status, abuf, alen);
}

static int open_channel(const struct dns_state *st, ares_channel *channel, char *err,
                        size_t errlen)
{
    struct ares_options opts;
    memset(&opts, 0, sizeof opts);
    long per_try = st->budget_ms / 3;
    opts.timeout = (int)(per_try < 50 ? 50 : per_try);
    opts.tries = DNS_TRIES;
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    int rc = ares_init_options(channel, &opts, mask);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "cannot set up the DNS resolver (/etc/resolv.conf): %s",
                 ares_strerror(rc));
        return -1;
    }
    if (st->servers) {
        rc = ares_set_servers_ports_csv(*channel, st->servers);
        if (rc != ARES_SUCCESS) {
            snprintf(err, errlen, "ERLANG_CLUSTER_DNS_SERVERS: \"%.200s\" was not accepted: %s "
                     "(use comma-separated ip, ip:port or [ipv6]:port)",
                     st->servers, ares_strerror(rc));
            ares_destroy(*channel);
            return -1;
        }
    }
    return 0;
}

enum wait_outcome { WAIT_DONE, WAIT_DEADLINE, WAIT_INTERRUPTED, WAIT_ERROR };

/* Runs the channel's queries until they finish, the deadline passes or the interrupt fd
 * becomes readable; in the last two cases the queries are cancelled. */
static enum wait_outcome run_queries(ares_channel channel, const struct dns_lookup *lookups,
                                     size_t count, int64_t deadline, int interrupt_fd,
                                     char *err, size_t errlen)
{
    for (;;) {
        bool pending = false;
        for (size_t i = 0; i < count; i++)
            pending |= lookups[i].status == LOOKUP_PENDING;
        if (!pending)
            return WAIT_DONE;
        int64_t left = deadline - monotonic_ms();
        if (left <= 0) {
            ares_cancel(channel);
            return WAIT_DEADLINE;
        }
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
        struct pollfd fds[ARES_GETSOCK_MAXNUM + 1];
        nfds_t nfds = 0;
        /* Bit i: socket i readable; bit i + 16: writable. c-ares' own macros shift a signed
         * 1 into the sign bit for the last socket, so the bits are read unsigned here. */
        unsigned ubits = (unsigned)bits;
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short events = (short)((((ubits >> i) & 1u) ? POLLIN : 0) |
                                   (((ubits >> (i + ARES_GETSOCK_MAXNUM)) & 1u) ? POLLOUT : 0));
            if (events)
                fds[nfds++] = (struct pollfd){.fd = socks[i], .events = events};
        }
        nfds_t sock_count = nfds;
        if (interrupt_fd >= 0)
            fds[nfds++] = (struct pollfd){.fd = interrupt_fd, .events = POLLIN};
        struct timeval max_wait = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
        struct timeval tv;
        struct timeval *next = ares_timeout(channel, &max_wait, &tv);
        int64_t wait_ms = (int64_t)next->tv_sec * 1000 + (next->tv_usec + 999) / 1000;
        int r = poll(fds, nfds, (int)(wait_ms < left ? wait_ms : left));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "poll on the DNS sockets failed: %s", strerror(errno));
            ares_cancel(channel);
            return WAIT_ERROR;
        }
        if (interrupt_fd >= 0 && (fds[sock_count].revents & POLLIN)) {
            ares_cancel(channel);
            return WAIT_INTERRUPTED;
        }
        bool any_ready = false;
        for (nfds_t i = 0; i < sock_count; i++) {
            short re = fds[i].revents;
            if (!re)
                continue;
            any_ready = true;
            ares_process_fd(channel,
                            re & (POLLIN | POLLERR | POLLHUP) ? fds[i].fd : ARES_SOCKET_BAD,
                            re & POLLOUT ? fds[i].fd : ARES_SOCKET_BAD);
        }
        if (!any_ready) /* let c-ares resend or give up on timed-out tries */
            ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
}

/* Logs what changed since the last discovery; a lasting state is not repeated. */
static void note_answer(struct dns_state *st, const struct dns_lookup *lookups, size_t count,
                        const struct strlist *peers)
{
    size_t addresses = 0;
    for (size_t i = 0; i < count; i++)
        addresses += lookups[i].count;
    enum dns_seen now = addresses ? SEEN_ADDRESSES : SEEN_NO_ADDRESSES;
    if (now == SEEN_NO_ADDRESSES && st->seen != SEEN_NO_ADDRESSES)
        LOG_WARN(st->log, "DNS: %s has no A or AAAA records (%s); no peers to dial, existing "
                          "connections stay (is the route mapped: cf map-route APP apps.internal "
                          "--hostname HOST?)",
                 st->query, lookups[0].status == ARES_ENOTFOUND ? "NXDOMAIN" : "empty answer");
    else if (now == SEEN_ADDRESSES && st->seen != SEEN_ADDRESSES)
        LOG_INFO(st->log, "DNS: %s has %zu address(es), %zu of them other instances", st->query,
                 addresses, peers->len);
    for (size_t i = 0; i < count && addresses; i++)
        if (!dns_status_is_empty_answer(lookups[i].status) && lookups[i].status != ARES_SUCCESS)
            LOG_DEBUG(st->log, "DNS: %s record lookup of %s failed (%s); using the other answer",
                      dns_family_record(lookups[i].family), st->query,
                      dns_lookup_problem(lookups[i].status));
    st->seen = now;
}

static enum registry_status dns_discover(void *state, int64_t now_ms, struct strlist *peers,
                                         char *err, size_t errlen)
{
    (void)now_ms; /* the deadline uses our own clock reading, taken right here */
    struct dns_state *st = state;
    int64_t start = monotonic_ms();
    int64_t deadline = start + st->budget_ms;
    ares_channel channel;
    if (open_channel(st, &channel, err, errlen) != 0)
        return REGISTRY_FAILED;
    struct dns_lookup lookups[2];
    dns_lookup_init(&lookups[0], AF_INET);
    dns_lookup_init(&lookups[1], AF_INET6);
    lookups[0].status = lookups[1].status = LOOKUP_PENDING;
    ares_query(channel, st->query, ns_c_in, ns_t_a, on_answer, &lookups[0]);
    ares_query(channel, st->query, ns_c_in, ns_t_aaaa, on_answer, &lookups[1]);
    enum wait_outcome outcome = run_queries(channel, lookups, 2, deadline, st->interrupt_fd,
                                            err, errlen);
    ares_destroy(channel); /* calls back any query still pending */
    enum registry_status result;
    if (outcome == WAIT_INTERRUPTED) {
        snprintf(err, errlen, "DNS lookup of %s interrupted", st->query);
        result = REGISTRY_INTERRUPTED;
    } else if (outcome == WAIT_ERROR) {
        result = REGISTRY_FAILED;
    } else {
        for (size_t i = 0; i < 2; i++)
            if (lookups[i].status == ARES_ECANCELLED || lookups[i].status == ARES_EDESTRUCTION ||
                lookups[i].status == LOOKUP_PENDING)
                lookups[i].status = ARES_ETIMEOUT; /* cut off by our deadline */
        result = dns_peers_from_lookups(lookups, 2, st->query, st->basename, st->self_ip, peers,
                                        err, errlen);
        if (result == REGISTRY_OK) {
            note_answer(st, lookups, 2, peers);
        } else {
            size_t n = strlen(err);
            snprintf(err + n, errlen - n, " (after %lld ms; servers: %s)",
                     (long long)(monotonic_ms() - start),
                     st->servers ? st->servers : "/etc/resolv.conf");
            st->seen = SEEN_FAILURE;
        }
    }
    dns_lookup_free(&lookups[0]);
    dns_lookup_free(&lookups[1]);
    return result;
}

static void dns_destroy(void *state)
{
    struct dns_state *st = state;
    if (!st)
        return;
    if (st->library_ready)
        ares_library_cleanup();
    free(st->query);
    free(st->basename);
    free(st->self_ip);
    free(st->servers);
    free(st);
}

static char *copy_or_null(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *copy = strdup(s);
    if (!copy)
        *failed = true;
    return copy;
}

int registry_dns_new(const struct config *cfg, const struct registry_runtime *rt,
                     struct registry_backend *out, char *err, size_t errlen)
{
    const char *query = cfg->dns_query;
    long budget_ms = rt->budget_ms ? rt->budget_ms : DNS_DEFAULT_BUDGET_MS;
    if (!query || !dns_name_valid(query)) {
        snprintf(err, errlen, "ERLANG_CLUSTER_DNS_QUERY: \"%.100s\" is not a DNS name; use a "
                 "host name such as my-app.apps.internal", query ? query : "");
        return -1;
    }
    if (!node_basename_valid(cfg->node_basename)) {
        snprintf(err, errlen, "ERLANG_CLUSTER_NODE_BASENAME: \"%.100s\" is not a valid node "
                 "basename; use 1 to 64 letters, digits, '_' and '-'",
                 cfg->node_basename ? cfg->node_basename : "");
        return -1;
    }
    if (budget_ms < DNS_MIN_BUDGET_MS) {
        snprintf(err, errlen, "DNS budget of %ld ms is too short (at least %d ms)", budget_ms,
                 DNS_MIN_BUDGET_MS);
        return -1;
    }
    struct dns_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    bool oom = false;
    st->query = copy_or_null(query, &oom);
    st->basename = copy_or_null(cfg->node_basename, &oom);
    st->self_ip = copy_or_null(cfg->instance_ip, &oom);
    st->servers = copy_or_null(cfg->dns_servers, &oom);
    st->budget_ms = budget_ms;
    st->interrupt_fd = rt->interrupt_fd;
    st->log = rt->log;
    if (oom) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    int rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "cannot initialise c-ares: %s", ares_strerror(rc));
        goto fail;
    }
    st->library_ready = true;
    /* Set up a channel once now so that a bad server list fails at start, not every poll. */
    ares_channel probe;
    if (open_channel(st, &probe, err, errlen) != 0)
        goto fail;
    ares_destroy(probe);
    *out = registry_leaseless("dns", st, dns_discover, dns_destroy);
    return 0;
fail:
    dns_destroy(st);
    return -1;
}
