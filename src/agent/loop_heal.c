/* Healing after a partition. While a peer is cut off, the app node's connection set-up to it
 * stays pending in net_kernel and sends its SYNs on TCP's retransmission timer (1, 2, 4 s
 * apart); every later connect_node joins that set-up. So after the network heals, the
 * reconnection waits for the next retransmission, up to seconds. Instead the agent probes
 * the missing peers' ports itself (a non-blocking TCP connect, every HEAL_PROBE_INTERVAL_MS),
 * and when one that did not answer the last probe answers now (the network came back), it
 * aborts the pending set-up and has the node dial again at once. A peer whose port answered
 * all along is left to the usual retries: its set-up is slow, not stuck, and aborting it
 * would only add lost connections (which global then answers with more disconnects). */
#include "agent/loop_state.h"
#include "common/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAL_PROBE_INTERVAL_MS 250
#define HEAL_PROBE_WINDOW_MS 50      /* a peer on the container network answers in ~1 ms */
#define HEAL_PROBE_MAX_FAILURES 8    /* ~3 min of backoff: then only the usual retries */
#define HEAL_REDIAL_PAUSE_MS 1000    /* after a redial: let it show in nodes() first */
#define CUT_OFF_REGISTRY_PAUSE_MS 30000
#define EPMD_PORT 4369
#define RPC_TIMEOUT_MS 2000

/* A peer worth probing: wanted, not connected, already dialled (so a set-up may be pending)
 * and not yet given up to the usual backoff. */
static bool worth_probing(const struct peer *p)
{
    return p->wanted && !p->connected && !p->cookie_refused && p->failures >= 1 &&
           p->failures <= HEAL_PROBE_MAX_FAILURES;
}

int64_t loop_heal_next(const struct loop_state *st)
{
    for (size_t i = 0; i < st->peers.len; i++)
        if (worth_probing(&st->peers.items[i]))
            return st->heal_at;
    return INT64_MAX;
}

/* The peer's address from its name (basename@IP); false when the host part is not an IP
 * literal (such a peer keeps the usual backoff). */
static bool peer_address(const char *name, int port, struct sockaddr_storage *addr,
                         socklen_t *len)
{
    const char *at = strchr(name, '@');
    if (at == NULL)
        return false;
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, at + 1, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
        return true;
    }
    if (inet_pton(AF_INET6, at + 1, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        return true;
    }
    return false;
}

/* Starts a non-blocking connect. Returns the socket (connecting), -1 when it failed at once,
 * or -2 when it connected at once (answered). */
static int start_probe(const struct sockaddr_storage *addr, socklen_t len)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* Closed with a reset: no TIME_WAIT left behind by probes that got through. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0) {
        /* best effort: without it a probe that got through only leaves a TIME_WAIT */
    }
    if (connect(fd, (const struct sockaddr *)addr, len) == 0) {
        close(fd);
        return -2;
    }
    if (errno == EINPROGRESS)
        return fd;
    close(fd);
    return -1;
}

/* Probes every peer worth it at once and waits up to the window for their answers (or a stop
 * signal). answered[i] is set for the i-th peer of the set that accepted. Returns 1 when a
 * stop signal is waiting, 0 otherwise. */
static int probe_round(struct loop_state *st, bool *answered, size_t *probed)
{
    size_t n = st->peers.len;
    struct pollfd *fds = calloc(n + 1, sizeof *fds);
    size_t *owner = calloc(n + 1, sizeof *owner);
    if (fds == NULL || owner == NULL) {
        free(fds);
        free(owner);
        LOG_ERROR(st->log, "cannot probe missing peers: out of memory");
        return 0;
    }
    int port = st->node->epmd ? EPMD_PORT : st->node->port;
    nfds_t used = 1;
    fds[0] = (struct pollfd){.fd = st->cfg->signal_fd, .events = POLLIN};
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_storage addr;
        socklen_t len;
        if (!worth_probing(&st->peers.items[i]) ||
            !peer_address(st->peers.items[i].name, port, &addr, &len))
            continue;
        int fd = start_probe(&addr, len);
        ++*probed;
        if (fd == -2)
            answered[i] = true;
        if (fd < 0)
            continue;
        fds[used] = (struct pollfd){.fd = fd, .events = POLLOUT};
        owner[used++] = i;
    }
    int signalled = 0;
    size_t open_probes = used - 1;
    int64_t deadline = monotonic_ms() + HEAL_PROBE_WINDOW_MS;
    while (open_probes > 0 && !signalled) {
        int64_t left = deadline - monotonic_ms();
        if (left <= 0)
            break;
        int r = poll(fds, used, (int)left);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        if (fds[0].revents & POLLIN)
            signalled = 1;
        for (nfds_t k = 1; k < used; k++) {
            if (fds[k].fd < 0 || fds[k].revents == 0)
                continue;
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(fds[k].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                answered[owner[k]] = true;
            close(fds[k].fd);
            fds[k].fd = -1; /* poll skips it from now on */
            open_probes--;
        }
    }
    for (nfds_t k = 1; k < used; k++)
        if (fds[k].fd >= 0)
            close(fds[k].fd); /* no answer within the window: still cut off */
    free(fds);
    free(owner);
    return signalled;
}

int loop_heal_step(struct loop_state *st, int64_t now)
{
    if (loop_heal_next(st) == INT64_MAX) {
        st->heal_silent = false;
        return 0;
    }
    if (now < st->heal_at)
        return 0;
    st->heal_at = now + HEAL_PROBE_INTERVAL_MS;
    size_t n = st->peers.len;
    bool *answered = calloc(n, sizeof *answered);
    if (answered == NULL) {
        LOG_ERROR(st->log, "cannot probe missing peers: out of memory");
        return 0;
    }
    size_t probed = 0, answers = 0;
    int signalled = probe_round(st, answered, &probed);
    for (size_t i = 0; i < n; i++)
        answers += answered[i];
    st->heal_silent = probed > 0 && answers == 0;
    /* Only a peer coming back is news: keep answered[i] for those, note the silent ones. */
    for (size_t i = 0; i < n; i++) {
        struct peer *p = &st->peers.items[i];
        if (!worth_probing(p))
            continue;
        bool came_back = answered[i] && p->unreachable;
        p->unreachable = !answered[i];
        answered[i] = came_back;
    }
    char err[512];
    for (size_t i = 0; i < n && !signalled; i++) {
        if (!answered[i])
            continue;
        /* The peers' names stay put: nothing below changes the peer set. */
        const char *name = st->peers.items[i].name;
        int aborted = erlang_node_abort_setup(st->node, name, RPC_TIMEOUT_MS, err, sizeof err);
        if (aborted == 1)
            LOG_INFO(st->log, "%s answers again; restarting the pending connection set-up",
                     name);
        int asked = aborted < 0 ? aborted
                                : erlang_node_connect_peer(st->node, name, RPC_TIMEOUT_MS, err,
                                                           sizeof err);
        if (asked == ERLANG_NODE_STOPPED) {
            signalled = 1;
            break;
        }
        if (asked != 0) {
            note_error(st, NODE_ERR, "%s", err);
            break; /* the connection was reset; the next look reconnects */
        }
        LOG_DEBUG(st->log, "asked %s to connect to %s again", st->cfg->node_name, name);
        st->heal_at = now + HEAL_REDIAL_PAUSE_MS;
        if (st->check_at > now + FAST_POLL_MS / 4)
            st->check_at = now + FAST_POLL_MS / 4; /* see it connected soon */
    }
    free(answered);
    return signalled;
}

bool loop_heal_cut_off(struct loop_state *st, int64_t now)
{
    if (!st->heal_silent || !peer_set_all_lost(&st->peers)) {
        st->cut_off_since = 0;
        return false;
    }
    if (st->cut_off_since == 0)
        st->cut_off_since = now;
    return now - st->cut_off_since < CUT_OFF_REGISTRY_PAUSE_MS;
}
