#include "agent/loop.h"
#include "common/clock.h"

#include "launch/prepare.h"
#include "common/nameset.h"
#include "agent/status.h"
#include "common/fsutil.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define FAST_POLL_MS 1000           /* while starting or while a fresh peer is missing */
#define STARTING_MS 60000           /* registry caches need up to 30 s to show newcomers */
#define FRESH_PEER_FAILURES 5       /* after ~30 s of silence a peer is probably dead */
#define PEER_BACKOFF_BASE_MS 1000
#define PEER_BACKOFF_CAP_MS 60000
#define RPC_TIMEOUT_MS 2000
#define NODE_CONNECT_TIMEOUT_MS 1000
#define STOP_BUDGET_MS 900          /* signal to DELETE done: under a second */
#define REPEAT_LOG_MS 60000         /* a repeated error is logged at most this often */
#define MAX_WAIT_MS 30000
/* A peer that refused our cookie keeps refusing until it restarts (the cookie is fixed for a
 * node's life), and every refusal is a few lines in its log: try it rarely. */
#define COOKIE_REFUSED_RETRY_MS 600000
#define PROBE_TIMEOUT_MS 1000
#define PROBE_BUDGET_MS 1000        /* probing per look, so dead peers never stall the loop */

struct loop_state {
    const struct loop_settings *cfg;
    struct registry_backend *reg;
    struct erlang_node *node;
    const struct log_sink *log;
    struct peer_set peers;

    bool node_up;
    int64_t node_up_at;
    bool registered;
    bool registration_sent; /* a POST went out: the server may hold it even if we saw no answer */
    bool registry_down;
    bool registry_down_for_discovery;   /* only discovery answers fail: lease calls work */
    unsigned registry_failures;
    int64_t registry_retry_at;
    int64_t registry_logged_at;
    int64_t renew_at;
    int64_t discover_at;
    int64_t check_at;
    int64_t peer_error_logged_at;
    int64_t node_wait_logged_at;
    const char *state_name;

    struct status_error last_error;
    time_t registered_at;
    time_t last_discovery_at;
    char *last_status;
    bool status_error_logged;
};

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int64_t registry_backoff_ms(unsigned failures, int64_t cap_ms, uint32_t random)
{
    int64_t delay = 1000;
    for (unsigned i = 1; i < failures && delay < cap_ms; i++)
        delay *= 2;
    if (delay > cap_ms)
        delay = cap_ms;
    /* Take off up to a quarter at random so restarted instances do not retry in step. */
    return delay - (int64_t)((uint64_t)(delay / 4) * random / UINT32_MAX);
}

int64_t loop_poll_interval_ms(bool starting, bool mesh_complete, bool fresh_unconnected,
                              int poll_interval_s)
{
    if (starting || (!mesh_complete && fresh_unconnected))
        return FAST_POLL_MS;
    return (int64_t)poll_interval_s * 1000;
}

/* The last error `status` shows; a condition that goes away clears its own kind. */
#define note_error(st, kind, ...) status_error_set(&(st)->last_error, (kind), time(NULL), __VA_ARGS__)
#define NODE_ERR STATUS_ERROR_NODE
#define REGISTRY_ERR STATUS_ERROR_REGISTRY
#define PEER_ERR STATUS_ERROR_PEER

static int64_t current_interval(const struct loop_state *st, int64_t now)
{
    bool starting = now - st->node_up_at < STARTING_MS;
    return loop_poll_interval_ms(starting, peer_set_complete(&st->peers),
                                 peer_set_has_fresh_unconnected(&st->peers, FRESH_PEER_FAILURES),
                                 st->cfg->poll_interval_s);
}

/* A registry call worked. A working lease call does not end a run of failing discoveries
 * (the registry is reachable but its answers are unusable): only a good discovery does, so
 * such a failure is announced once, not again after every renewal. */
static void registry_ok(struct loop_state *st, bool discovery)
{
    if (st->registry_down && st->registry_down_for_discovery && !discovery)
        return;
    if (st->registry_down)
        LOG_INFO(st->log, "registry reachable again (after %u failed attempts)",
                 st->registry_failures);
    st->registry_down = false;
    st->registry_down_for_discovery = false;
    st->registry_failures = 0;
    status_error_clear(&st->last_error, REGISTRY_ERR);
}

/* Counts a failed registry call, logs it (once, then at most every REPEAT_LOG_MS) and returns
 * the backoff before the next attempt. */
static int64_t registry_failed(struct loop_state *st, int64_t now, const char *what,
                               const char *err, bool discovery)
{
    st->registry_failures++;
    uint32_t random = 0;
    if (getrandom(&random, sizeof random, GRND_NONBLOCK) != (ssize_t)sizeof random)
        random = (uint32_t)now;
    int64_t cap = (int64_t)st->cfg->heartbeat_interval_s * 1000;
    if (cap > 30000)
        cap = 30000;
    if (cap < 1000)
        cap = 1000;
    int64_t delay = registry_backoff_ms(st->registry_failures, cap, random);
    note_error(st, REGISTRY_ERR, "%s: %s", what, err);
    if (!st->registry_down) {
        LOG_WARN(st->log, "registry unreachable: %s: %s (retrying with backoff; connected peers "
                          "stay connected)",
                 what, err);
        st->registry_down = true;
        st->registry_down_for_discovery = discovery;
        st->registry_logged_at = now;
    } else if (now - st->registry_logged_at >= REPEAT_LOG_MS) {
        LOG_WARN(st->log, "registry still unreachable after %u attempts: %s: %s",
                 st->registry_failures, what, err);
        st->registry_logged_at = now;
    } else {
        LOG_DEBUG(st->log, "%s failed (attempt %u, next in %lld ms): %s", what,
                  st->registry_failures, (long long)delay, err);
    }
    if (!discovery)
        st->registry_down_for_discovery = false;
    return delay;
}

int loop_take_discovery(struct peer_set *peers, const struct strlist *found, int64_t now,
                        const struct log_sink *log)
{
    if (log->level >= LOG_LEVEL_DEBUG) {
        struct nameset wanted;
        if (nameset_init(&wanted, peers->len) != 0)
            return -1;
        for (size_t j = 0; j < peers->len; j++) {
            if (peers->items[j].wanted && nameset_add(&wanted, peers->items[j].name, j) < 0) {
                nameset_free(&wanted);
                return -1;
            }
        }
        for (size_t i = 0; i < found->len; i++)
            if (!nameset_find(&wanted, found->items[i], NULL))
                LOG_DEBUG(log, "registry lists peer %s", found->items[i]);
        nameset_free(&wanted);
    }
    return peer_set_update_wanted(peers, found, now);
}

/* Register, renew and discover as their timers say. Returns false when a signal arrived. */
static bool registry_step(struct loop_state *st, int64_t now)
{
    char err[512];
    struct registry_backend *reg = st->reg;
    if (now < st->registry_retry_at)
        return true;
    if (reg->has_lease && !st->registered) {
        st->registration_sent = true;
        enum registry_status s = reg->register_self(reg->state, now, err, sizeof err);
        if (s == REGISTRY_INTERRUPTED)
            return false;
        if (s != REGISTRY_OK) {
            st->registry_retry_at = now + registry_failed(st, now, "registration", err, false);
            return true;
        }
        registry_ok(st, false);
        st->registered = true;
        st->registered_at = time(NULL);
        st->renew_at = now + (int64_t)st->cfg->heartbeat_interval_s * 1000;
        st->discover_at = now;
        LOG_INFO(st->log, "registered with the %s registry as %s (node %s)", reg->name,
                 st->cfg->instance_id ? st->cfg->instance_id : "-", st->cfg->node_name);
    } else if (reg->has_lease && now >= st->renew_at) {
        enum registry_status s = reg->renew(reg->state, now, err, sizeof err);
        if (s == REGISTRY_INTERRUPTED)
            return false;
        if (s == REGISTRY_NOT_REGISTERED) {
            registry_ok(st, false);
            LOG_WARN(st->log, "the registry no longer knows this instance (renewal answered "
                              "404); registering again");
            note_error(st, REGISTRY_ERR, "%s", err);
            st->registered = false;
            st->registered_at = 0;
            return registry_step(st, monotonic_ms());
        }
        if (s != REGISTRY_OK) {
            st->registry_retry_at = now + registry_failed(st, now, "lease renewal", err, false);
            return true;
        }
        registry_ok(st, false);
        st->renew_at = now + (int64_t)st->cfg->heartbeat_interval_s * 1000;
        LOG_DEBUG(st->log, "lease renewed");
    }
    now = monotonic_ms();
    if (now < st->discover_at || now < st->registry_retry_at)
        return true;
    struct strlist found = {0};
    enum registry_status s = reg->discover(reg->state, now, &found, err, sizeof err);
    if (s == REGISTRY_INTERRUPTED) {
        strlist_clear(&found);
        return false;
    }
    if (s != REGISTRY_OK) {
        /* Keep the peers we knew: a failing registry never disconnects anyone. Only the
         * next discovery waits out the backoff; lease renewals stay on their own timer. */
        strlist_clear(&found);
        st->discover_at = now + registry_failed(st, now, "discovery", err, true);
        return true;
    }
    registry_ok(st, true);
    st->last_discovery_at = time(NULL);
    if (loop_take_discovery(&st->peers, &found, now, st->log) != 0)
        LOG_ERROR(st->log, "cannot record discovered peers: out of memory");
    strlist_clear(&found);
    st->discover_at = now + current_interval(st, now);
    st->check_at = now;
    return true;
}

/* A stop signal is waiting: long work should yield to the loop, which deregisters. */
static bool signal_pending(const struct loop_state *st)
{
    struct pollfd pfd = {.fd = st->cfg->signal_fd, .events = POLLIN};
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN);
}

static const struct peer *peer_named(const struct loop_state *st, const char *name)
{
    for (size_t i = 0; i < st->peers.len; i++)
        if (strcmp(st->peers.items[i].name, name) == 0)
            return &st->peers.items[i];
    return NULL;
}

/* A due peer that an earlier attempt did not connect (or that refused our cookie) is dialled
 * by the agent itself first: the app node's connect_node only says false, and a peer with
 * another cookie would log a refusal for every attempt. Returns false when the peer refused
 * our cookie: it is not asked for again until its long retry interval has passed. */
static bool worth_connecting(struct loop_state *st, const char *name)
{
    const struct peer *p = peer_named(st, name);
    if (p == NULL || (p->failures < 2 && !p->cookie_refused))
        return true;
    char err[512];
    int64_t now = monotonic_ms();
    switch (erlang_node_probe_peer(st->node, name, PROBE_TIMEOUT_MS, err, sizeof err)) {
    case PEER_PROBE_COOKIE_REFUSED:
        note_error(st, PEER_ERR, "%s", err);
        if (peer_set_mark_cookie_refused(&st->peers, name, now)) /* news: said once */
            LOG_WARN(st->log, "%s (another droplet whose build cache was cleared, or another "
                              "app with cluster name %s); not connecting, retrying every %d "
                              "min; give both the same ERLANG_CLUSTER_COOKIE to join them",
                     err, st->cfg->cluster, COOKIE_REFUSED_RETRY_MS / 60000);
        return false;
    case PEER_PROBE_ACCEPTED:
        if (peer_set_clear_cookie_refused(&st->peers, name))
            LOG_INFO(st->log, "%s accepts our cookie now; connecting", name);
        return true;
    default:
        LOG_DEBUG(st->log, "probe: %s", err);
        return true;
    }
}

/* Looks at nodes() and starts connections to due peers. Returns -1 when the app node is
 * gone, 1 when a stop signal cut an rpc short (the signal is still unread), else 0. */
static int check_peers(struct loop_state *st, int64_t now)
{
    char err[512];
    struct strlist nodes = {0};
    int listed = erlang_node_list(st->node, &nodes, RPC_TIMEOUT_MS, err, sizeof err);
    if (listed == ERLANG_NODE_STOPPED) {
        strlist_clear(&nodes);
        return 1;
    }
    if (listed != 0) {
        strlist_clear(&nodes);
        LOG_DEBUG(st->log, "%s; reconnecting", err);
        char cerr[512];
        int rc = erlang_node_connect(st->node, NODE_CONNECT_TIMEOUT_MS, cerr, sizeof cerr);
        if (rc == ERLANG_NODE_SLOW) {
            note_error(st, NODE_ERR, "%s", cerr);
            st->check_at = now + FAST_POLL_MS;
            return 0;
        }
        if (rc != 0) {
            note_error(st, NODE_ERR, "%s", cerr);
            LOG_INFO(st->log, "app node %s is gone (%s)", st->cfg->node_name, cerr);
            return -1;
        }
        /* Connected again: the node is alive but was slow; look again soon. */
        note_error(st, NODE_ERR, "%s", err);
        st->check_at = now + FAST_POLL_MS;
        return 0;
    }
    status_error_clear(&st->last_error, NODE_ERR); /* the node answered */
    struct peer_changes changes = {0};
    if (peer_set_update_connected(&st->peers, &nodes, now, &changes) != 0)
        LOG_ERROR(st->log, "cannot record connected peers: out of memory");
    strlist_clear(&nodes);
    for (size_t i = 0; i < changes.joined.len; i++)
        LOG_INFO(st->log, "peer joined: %s", changes.joined.items[i]);
    for (size_t i = 0; i < changes.lost.len; i++)
        LOG_INFO(st->log, "peer lost: %s", changes.lost.items[i]);
    peer_changes_clear(&changes);

    struct strlist due = {0};
    if (peer_set_take_due(&st->peers, now, &due) != 0)
        LOG_ERROR(st->log, "cannot schedule peer connections: out of memory");
    int64_t probe_deadline = monotonic_ms() + PROBE_BUDGET_MS;
    for (size_t i = 0; i < due.len; i++) {
        if (signal_pending(st))
            break; /* stopping comes first */
        if (monotonic_ms() < probe_deadline && !worth_connecting(st, due.items[i]))
            continue;
        LOG_DEBUG(st->log, "asking %s to connect to %s", st->cfg->node_name, due.items[i]);
        int asked = erlang_node_connect_peer(st->node, due.items[i], RPC_TIMEOUT_MS, err,
                                             sizeof err);
        if (asked == ERLANG_NODE_STOPPED) {
            strlist_clear(&due);
            return 1;
        }
        if (asked != 0) {
            note_error(st, NODE_ERR, "%s", err);
            if (now - st->peer_error_logged_at >= REPEAT_LOG_MS) {
                LOG_WARN(st->log, "%s", err);
                st->peer_error_logged_at = now;
            }
            break; /* the connection was reset; the next look reconnects */
        }
    }
    if (!peer_set_has_cookie_refused(&st->peers))
        status_error_clear(&st->last_error, PEER_ERR);
    /* A fresh connection attempt shows in nodes() within about a second. */
    st->check_at = now + (due.len > 0 ? FAST_POLL_MS : current_interval(st, now));
    strlist_clear(&due);
    return 0;
}

static void write_status(struct loop_state *st)
{
    if (!st->cfg->run_dir)
        return;
    struct agent_status view = {
        .mode = st->cfg->mode,
        .cluster = st->cfg->cluster,
        .node = st->cfg->node_name,
        .state = st->state_name,
        .node_up = st->node_up,
        .registration = !st->reg->has_lease ? "none (no lease)"
                        : st->registered    ? "registered"
                                            : "not registered",
        .registry = st->registry_down ? "unreachable" : "reachable",
        .instance_id = st->cfg->instance_id,
        .last_error = st->last_error.text[0] ? st->last_error.text : NULL,
        .last_error_at = st->last_error.at,
        .registered_at = st->registered_at,
        .last_discovery_at = st->last_discovery_at,
        .peers = &st->peers,
        .pid = (long)getpid(),
    };
    char *json = status_to_json(&view);
    if (!json)
        return;
    if (st->last_status && strcmp(st->last_status, json) == 0) {
        free(json);
        return;
    }
    char *path = fs_join(st->cfg->run_dir, "status.json");
    char err[512];
    if (path && fs_write_atomic(path, json, strlen(json), 0644, err, sizeof err) != 0) {
        if (!st->status_error_logged)
            LOG_WARN(st->log, "cannot write the status file: %s", err);
        st->status_error_logged = true;
    }
    free(path);
    free(st->last_status);
    st->last_status = json;
}

static void on_node_up(struct loop_state *st, int64_t now)
{
    st->node_up = true;
    st->node_up_at = now;
    st->state_name = "running";
    st->check_at = now;
    st->discover_at = now;
    st->registry_retry_at = now;
    status_error_clear(&st->last_error, NODE_ERR); /* start-up refusals are history now */
    LOG_INFO(st->log, "app node %s is up", st->cfg->node_name);
    if (st->cfg->run_dir) {
        char err[512];
        if (launch_release_name_claim(st->cfg->run_dir, err, sizeof err) != 0)
            LOG_WARN(st->log, "cannot hand the node name claim over to guest flags: %s", err);
    }
}

/* Reads the pending signal. Returns the signal number, or 0. */
static int take_signal(const struct loop_state *st)
{
    struct signalfd_siginfo info;
    ssize_t n = read(st->cfg->signal_fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) {
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            LOG_ERROR(st->log, "cannot read the signal fd: %s", strerror(errno));
        return 0;
    }
    return (int)info.ssi_signo;
}

/* Deregisters within the stop budget counted from stop_at (when the signal was seen). */
static void stop(struct loop_state *st, int64_t stop_at, const char *why)
{
    st->state_name = "stopped";
    /* A second signal already queued must not cut the DELETE short. */
    while (take_signal(st) != 0)
        ;
    if (st->reg->has_lease && (st->registered || st->registration_sent)) {
        char err[512];
        long budget = (long)(STOP_BUDGET_MS - (monotonic_ms() - stop_at));
        if (budget < 100)
            budget = 100;
        enum registry_status s = st->reg->deregister(st->reg->state, monotonic_ms(), budget, err,
                                                     sizeof err);
        if (s == REGISTRY_OK) {
            st->registered = false;
            LOG_INFO(st->log, "deregistered from the %s registry (%s)", st->reg->name, why);
        } else {
            note_error(st, REGISTRY_ERR, "deregistration: %s", err);
            LOG_WARN(st->log, "deregistration failed (%s): %s; the registry will expire the lease",
                     why, err);
        }
    } else {
        LOG_INFO(st->log, "stopping (%s)", why);
    }
    write_status(st);
}

int agent_loop_run(const struct loop_settings *cfg, struct registry_backend *registry,
                   struct erlang_node *node, const struct log_sink *log)
{
    struct loop_state st = {.cfg = cfg, .reg = registry, .node = node, .log = log,
                            .state_name = "waiting-for-node"};
    peer_set_init(&st.peers, PEER_BACKOFF_BASE_MS, PEER_BACKOFF_CAP_MS);
    st.peers.refused_retry_ms = COOKIE_REFUSED_RETRY_MS;
    node->stop_fd = cfg->signal_fd; /* a stop signal cuts any rpc wait short */
    int64_t start = monotonic_ms();
    int64_t node_deadline = start + (int64_t)cfg->node_wait_s * 1000;
    int exit_code = 0;
    LOG_INFO(log, "waiting for app node %s (up to %d s)", cfg->node_name, cfg->node_wait_s);
    st.node_wait_logged_at = start;
    write_status(&st);

    for (;;) {
        int64_t now = monotonic_ms();
        char err[512];
        bool signalled = false;
        if (!st.node_up && now >= st.check_at) {
            if (erlang_node_connect(node, NODE_CONNECT_TIMEOUT_MS, err, sizeof err) == 0) {
                on_node_up(&st, monotonic_ms());
            } else {
                note_error(&st, NODE_ERR, "%s", err);
                now = monotonic_ms();
                if (now >= node_deadline) {
                    LOG_ERROR(log, "app node %s did not come up within %d s: %s", cfg->node_name,
                              cfg->node_wait_s, err);
                    exit_code = 1;
                    stop(&st, now, "app node never came up");
                    break;
                }
                if (now - st.node_wait_logged_at >= REPEAT_LOG_MS) {
                    LOG_INFO(log, "still waiting for app node %s: %s", cfg->node_name, err);
                    st.node_wait_logged_at = now;
                }
                st.check_at = now + FAST_POLL_MS;
            }
        }
        if (st.node_up) {
            signalled = !registry_step(&st, monotonic_ms());
            now = monotonic_ms();
            /* A peer whose backoff has run out is due too; the wait below counts on it. */
            bool peer_due = peer_set_next_attempt(&st.peers) <= now;
            int checked = !signalled && (now >= st.check_at || peer_due) ? check_peers(&st, now)
                                                                          : 0;
            if (checked < 0) {
                stop(&st, monotonic_ms(), "app node gone");
                break;
            }
            signalled |= checked > 0;
        }
        write_status(&st);

        int64_t next = st.check_at;
        if (st.node_up) {
            int64_t registry_next = st.discover_at;
            if (registry->has_lease)
                registry_next = min64(registry_next, st.registered ? st.renew_at : 0);
            if (registry_next < st.registry_retry_at)
                registry_next = st.registry_retry_at;
            next = min64(next, registry_next);
            next = min64(next, peer_set_next_attempt(&st.peers));
        }
        int64_t wait = next - monotonic_ms();
        if (wait < 0 || signalled)
            wait = 0;
        if (wait > MAX_WAIT_MS)
            wait = MAX_WAIT_MS;
        struct pollfd fds[2] = {{.fd = cfg->signal_fd, .events = POLLIN},
                                {.fd = node->fd, .events = POLLIN}};
        int nfds = erlang_node_connected(node) ? 2 : 1;
        int r = poll(fds, (nfds_t)nfds, (int)wait);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            LOG_ERROR(log, "poll failed: %s", strerror(errno));
            exit_code = 1;
            stop(&st, monotonic_ms(), "internal error");
            break;
        }
        if (fds[0].revents & POLLIN) {
            int64_t stop_at = monotonic_ms();
            int sig = take_signal(&st);
            if (sig == SIGTERM || sig == SIGINT) {
                LOG_INFO(log, "received %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                stop(&st, stop_at, sig == SIGTERM ? "SIGTERM" : "SIGINT");
                break;
            }
        }
        if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (erlang_node_handle_input(node, err, sizeof err) != 0) {
                int64_t lost_at = monotonic_ms();
                char cerr[512];
                /* One immediate reconnect tells a dropped connection from a dead node. */
                int rc = st.node_up ? erlang_node_connect(node, NODE_CONNECT_TIMEOUT_MS / 2, cerr,
                                                          sizeof cerr)
                                    : -1;
                if (rc != 0) {
                    note_error(&st, NODE_ERR, "%s", err);
                    if (st.node_up && rc != ERLANG_NODE_SLOW) {
                        LOG_INFO(log, "app node %s is gone (%s)", cfg->node_name, err);
                        stop(&st, lost_at, "app node gone");
                        break;
                    }
                }
            }
        }
    }
    peer_set_free(&st.peers);
    free(st.last_status);
    return exit_code;
}
