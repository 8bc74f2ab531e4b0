/* Healing after a partition. A connection set-up started while a peer is cut off stays
 * pending in net_kernel for net_setuptime (7 s), its SYNs on TCP's retransmission timer (1, 2,
 * 4 s apart), and every later connect to that peer joins it: global's too, which fails with
 * it and then disconnects others to prevent overlapping partitions. So a peer that was lost,
 * or has failed before, is dialled only when its port answers: its port is probed first (a
 * non-blocking TCP connect), and a silent one is probed every HEAL_PROBE_INTERVAL_MS instead
 * and dialled the moment it answers, with no stale set-up in the way. A set-up someone else
 * left pending (the app's own auto-connect) and still pending a second after the peer
 * answered is aborted and started again. */
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
/* Sockets one round holds open at most: well above a real cluster, and far below the file
 * limit, whatever a registry lists. Peers over it wait for a later round. */
#define HEAL_PROBE_MAX_OPEN 256
/* A set-up on a network that answers takes milliseconds; one still pending this long after
 * the peer answered is waiting for a SYN retransmission. Long enough that a slow but live
 * set-up is not aborted (global would answer its failure with disconnects). */
#define HEAL_STUCK_AFTER_MS 1000
#define CUT_OFF_REGISTRY_PAUSE_MS 30000
#define EPMD_PORT 4369
#define HEAL_VERIFY_BUDGET_MS 1000 /* handshakes with new peers per round */

/* A peer worth probing: wanted, not connected, tried at least once (dialled, or held back
 * because its port was silent) and not yet given up to the usual backoff. */
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

/* What a probe of a peer's port found. */
enum reach {
    REACH_NOT_PROBED,
    REACH_SKIPPED,  /* over HEAL_PROBE_MAX_OPEN: not probed this round */
    REACH_SILENT,   /* no answer within the window: cut off, or its address is gone */
    REACH_REFUSED,  /* an answer that is no connection (reset, unreachable) */
    REACH_ANSWERED, /* it accepted */
};

/* Probes the selected peers at once and waits up to the window for their answers (or a stop
 * signal). reach[i] is set for the i-th peer of the set. Returns 1 when a stop signal is
 * waiting, 0 otherwise. */
static int probe_round(struct loop_state *st, const bool *selected, enum reach *reach)
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
        if (!selected[i] || !peer_address(st->peers.items[i].name, port, &addr, &len))
            continue;
        if (used > HEAL_PROBE_MAX_OPEN) {
            reach[i] = REACH_SKIPPED;
            continue;
        }
        int fd = start_probe(&addr, len);
        reach[i] = fd == -2 ? REACH_ANSWERED : fd == -1 ? REACH_REFUSED : REACH_SILENT;
        if (fd < 0)
            continue;
        fds[used] = (struct pollfd){.fd = fd, .events = POLLOUT};
        owner[used++] = i;
    }
    int signalled = 0;
    size_t open_probes = used - 1;
    int64_t deadline = monotonic_ms() + HEAL_PROBE_WINDOW_MS;
    bool window_over = false;
    while (open_probes > 0 && !signalled && !window_over) {
        int64_t left = deadline - monotonic_ms();
        /* Once the window is over, one more look without waiting: on a loaded machine the
         * agent may run again only after it, with the answers already in. */
        window_over = left <= 0;
        int r = poll(fds, used, window_over ? 0 : (int)left);
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
            bool ok = getsockopt(fds[k].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0;
            reach[owner[k]] = ok ? REACH_ANSWERED : REACH_REFUSED;
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

/* Dialling this due peer could leave a set-up pending: it was connected before (lost now) or
 * an earlier dial failed; or it is new, and the agent's handshake with it (peer_verify.c)
 * would wait its whole timeout on an address that does not answer. All of them are probed at
 * once, so a registry listing many dead addresses costs one window, not a timeout each. */
static bool check_before_dial(const struct peer *p)
{
    return p->was_connected || p->failures >= 2 || !p->verified;
}

int loop_heal_drop_silent(struct loop_state *st, struct strlist *due)
{
    size_t n = st->peers.len;
    bool *selected = calloc(n ? n : 1, sizeof *selected);
    enum reach *reach = calloc(n ? n : 1, sizeof *reach);
    if (selected == NULL || reach == NULL) {
        free(selected);
        free(reach);
        LOG_ERROR(st->log, "cannot probe due peers: out of memory");
        return 0;
    }
    size_t wanted = 0;
    for (size_t i = 0; i < n; i++) {
        const struct peer *p = &st->peers.items[i];
        selected[i] = check_before_dial(p) && strlist_contains(due, p->name);
        wanted += selected[i];
    }
    int signalled = wanted > 0 ? probe_round(st, selected, reach) : 0;
    for (size_t i = 0; i < n; i++) {
        struct peer *p = &st->peers.items[i];
        if (reach[i] == REACH_NOT_PROBED)
            continue;
        if (reach[i] == REACH_SKIPPED) {
            strlist_remove(due, p->name);
            peer_set_defer(p, monotonic_ms()); /* probed at the next look */
            continue;
        }
        p->unreachable = reach[i] != REACH_ANSWERED;
        if (reach[i] == REACH_SILENT) {
            LOG_DEBUG(st->log, "%s does not answer; dialling it when it does", p->name);
            strlist_remove(due, p->name);
        }
    }
    int64_t next_round = monotonic_ms() + HEAL_PROBE_INTERVAL_MS;
    if (wanted > 0 && st->heal_at < next_round)
        st->heal_at = next_round; /* these peers were just probed */
    free(selected);
    free(reach);
    return signalled;
}

/* What the heal step does for a probed peer. */
enum heal_action {
    HEAL_NONE,
    HEAL_DIAL,    /* its port answers again: dial it now */
    HEAL_RESTART, /* dialled as it came back, still missing: abort the stuck set-up, dial */
};

static enum heal_action heal_action(struct peer *p, enum reach reach, int64_t now)
{
    bool answered = reach == REACH_ANSWERED;
    bool came_back = answered && p->unreachable;
    p->unreachable = !answered;
    if (came_back)
        return HEAL_DIAL;
    if (answered && p->redialled_at != 0 && now - p->redialled_at >= HEAL_STUCK_AFTER_MS)
        return HEAL_RESTART;
    return HEAL_NONE;
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
    bool *selected = calloc(n, sizeof *selected);
    enum reach *reach = calloc(n, sizeof *reach);
    if (selected == NULL || reach == NULL) {
        free(selected);
        free(reach);
        LOG_ERROR(st->log, "cannot probe missing peers: out of memory");
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        selected[i] = worth_probing(&st->peers.items[i]);
    int signalled = probe_round(st, selected, reach);
    size_t probed = 0, answers = 0;
    for (size_t i = 0; i < n; i++) {
        probed += reach[i] != REACH_NOT_PROBED && reach[i] != REACH_SKIPPED;
        answers += reach[i] == REACH_ANSWERED;
    }
    st->heal_silent = probed > 0 && answers == 0;
    char err[512];
    int64_t verify_deadline = monotonic_ms() + HEAL_VERIFY_BUDGET_MS;
    for (size_t i = 0; i < n && !signalled; i++) {
        /* The peers' names stay put: nothing below changes the peer set. */
        struct peer *p = &st->peers.items[i];
        if (reach[i] == REACH_NOT_PROBED || reach[i] == REACH_SKIPPED)
            continue;
        enum heal_action action = heal_action(p, reach[i], now);
        if (action == HEAL_NONE)
            continue;
        int aborted = 0;
        if (action == HEAL_RESTART) {
            aborted = erlang_node_abort_setup(st->node, p->name, RPC_TIMEOUT_MS, err, sizeof err);
            if (aborted == 1)
                LOG_INFO(st->log, "%s answers, but the connection set-up to it is stuck; "
                                  "restarting it", p->name);
        }
        int asked = aborted < 0 ? aborted
                                : loop_dial_peer(st, p->name, verify_deadline, err, sizeof err);
        if (asked == DIAL_HELD || asked == DIAL_DEFERRED)
            continue;
        if (asked == ERLANG_NODE_STOPPED) {
            signalled = 1;
            break;
        }
        if (asked != 0) {
            note_error(st, NODE_ERR, "%s", err);
            break; /* the connection was reset; the next look reconnects */
        }
        LOG_DEBUG(st->log, "%s answers again: asked %s to connect to it", p->name,
                  st->cfg->node_name);
        p->redialled_at = action == HEAL_DIAL ? now : 0;
        if (st->check_at > st->heal_at)
            st->check_at = st->heal_at; /* see it connected before the next round */
    }
    free(selected);
    free(reach);
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
