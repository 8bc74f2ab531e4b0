/* The run loop's outline: wait (bounded) for the app node, then tend the cluster (the
 * registry in loop_registry.c, the peers in loop_peers.c, healing in loop_heal.c) until a
 * stop signal or the app node's death, sleeping in poll(2) until the next timer, signal or
 * message from the node. */
#include "agent/loop_state.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "launch/claim.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define STARTING_MS 60000           /* registry caches need up to 30 s to show newcomers */
#define FRESH_PEER_FAILURES 5       /* after ~30 s of silence a peer is probably dead */
#define PEER_BACKOFF_BASE_MS 1000
#define PEER_BACKOFF_CAP_MS 60000
#define STOP_BUDGET_MS 900          /* signal to DELETE done: under a second */
#define MAX_WAIT_MS 30000
/* While waiting for the app node: a refused connection costs a socket and a connect(2), and
 * this bounds how long after its distribution accepts the first peer is dialled. */
#define NODE_WAIT_POLL_MS 10
#define OWNER_CHECK_MS 500 /* how often the wait looks whether the start command still runs */

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int64_t loop_poll_interval_ms(bool starting, bool mesh_complete, bool fresh_unconnected,
                              int poll_interval_s)
{
    if (starting || (!mesh_complete && fresh_unconnected))
        return FAST_POLL_MS;
    return (int64_t)poll_interval_s * 1000;
}

int64_t loop_current_interval(const struct loop_state *st, int64_t now)
{
    if (!st->node_up)
        return FAST_POLL_MS; /* discovering ahead of the node: the list is fresh when it is up */
    bool starting = now - st->node_up_at < STARTING_MS;
    return loop_poll_interval_ms(starting, peer_set_complete(&st->peers),
                                 peer_set_has_fresh_unconnected(&st->peers, FRESH_PEER_FAILURES),
                                 st->cfg->poll_interval_s);
}

/* status.json for `erlang-cluster-agent status`, rewritten only when the view changed. */
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
        .tls_app = st->node->tls ? st->node->tls_identity.app_guid : NULL,
        .tls_certfile = st->node->tls ? st->node->tls_identity.certfile : NULL,
        .clear_despite_tls = st->clear_despite_tls,
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

/* The app node answered: discovery and the registry start now, and later BEAMs in the
 * container (guest flags) may take the node name claim. */
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

/* The app node runs clear text although TLS is on: the loop stops. */
static bool stop_for_clear_text(struct loop_state *st)
{
    st->exit_code = 1;
    stop(st, monotonic_ms(), "clear-text distribution although ERLANG_CLUSTER_TLS=true");
    return false;
}

/* Before the app node is up: one connection attempt, and with TLS the proof of what it
 * speaks. Returns false when the bounded wait is over (the loop has stopped). */
static bool try_app_node(struct loop_state *st)
{
    char err[512];
    if (loop_node_refusal_holds(st, monotonic_ms()))
        return true;
    int rc = erlang_node_connect(st->node, NODE_CONNECT_TIMEOUT_MS, err, sizeof err);
    if (rc == 0) {
        int proved = loop_prove_tls(st);
        if (proved < 0)
            return stop_for_clear_text(st);
        if (loop_node_proved(st)) {
            st->node_refusals = 0;
            on_node_up(st, monotonic_ms());
        } else {
            st->check_at = monotonic_ms() + NODE_WAIT_POLL_MS; /* a signal, or no answer */
        }
        return true;
    }
    if (loop_clear_text_after_failure(st, false) < 0)
        return stop_for_clear_text(st);
    note_error(st, NODE_ERR, "%s", err);
    int64_t now = monotonic_ms();
    /* The launcher's shell runs the start command: pre-steps (migrations) first, then the
     * app. While it runs the node may still come; once it is gone, it never will. */
    if (st->cfg->run_dir && now - st->owner_checked_at >= OWNER_CHECK_MS) {
        st->owner_state = launch_claim_owner_state(st->cfg->run_dir);
        st->owner_checked_at = now;
    }
    int owner = st->cfg->run_dir ? st->owner_state : -1;
    if (owner == 0) {
        stop(st, now, "the start command ended before the app node came up");
        return false;
    }
    if (now >= st->node_deadline && owner == 1) {
        if (!st->node_wait_extended)
            LOG_INFO(st->log, "app node %s is not up after %d s, but the start command still "
                     "runs (a long pre-step such as a migration?): waiting as long as it does",
                     st->cfg->node_name, st->cfg->node_wait_s);
        st->node_wait_extended = true;
    } else if (now >= st->node_deadline) {
        if (loop_clear_text_after_failure(st, true) < 0)
            return stop_for_clear_text(st);
        LOG_ERROR(st->log, "app node %s did not come up within %d s: %s", st->cfg->node_name,
                  st->cfg->node_wait_s, err);
        st->exit_code = 1;
        stop(st, now, "app node never came up");
        return false;
    }
    if (rc == ERLANG_NODE_REFUSED) {
        loop_node_refused(st, now);
        return true;
    }
    st->node_refusals = 0;
    st->node_refusal_said[0] = '\0';
    st->state_name = "waiting-for-node";
    if (now - st->node_wait_logged_at >= REPEAT_LOG_MS) {
        LOG_INFO(st->log, "still waiting for app node %s: %s", st->cfg->node_name, err);
        st->node_wait_logged_at = now;
    }
    st->check_at = now + NODE_WAIT_POLL_MS;
    return true;
}

/* With the app node up: a look at the peers when due, the probes of missing peers, then the
 * registry's timers. Peers come first so that those discovered while the node was starting
 * are dialled the moment it is up, not after a registration round trip; a discovery sets
 * check_at to now, so what it finds is dialled on the next turn of the loop. Returns false
 * when the app node is gone (the loop has stopped); *signalled when a stop signal cut the
 * work short. */
static bool tend_cluster(struct loop_state *st, bool *signalled)
{
    /* A new connection (a reconnect may be a restarted node) is proved before any dial. */
    int proved = loop_prove_tls(st);
    if (proved < 0)
        return stop_for_clear_text(st);
    if (proved > 0) {
        *signalled = true;
        return true;
    }
    int64_t now = monotonic_ms();
    /* A peer whose backoff has run out is due too (next_timer counts its attempt). */
    bool peer_due = peer_set_next_attempt(&st->peers) <= now;
    int checked = now >= st->check_at || peer_due ? loop_check_peers(st, now) : 0;
    if (checked < 0) {
        if (st->clear_despite_tls)
            return stop_for_clear_text(st);
        stop(st, monotonic_ms(), "app node gone");
        return false;
    }
    *signalled = checked > 0;
    if (!loop_node_proved(st)) {
        st->check_at = monotonic_ms(); /* reconnected: prove it on the next turn */
        return true;
    }
    if (!*signalled)
        *signalled = loop_heal_step(st, monotonic_ms()) > 0;
    if (!*signalled && !loop_heal_cut_off(st, monotonic_ms()))
        *signalled = !loop_registry_step(st, monotonic_ms());
    return true;
}

/* When the next timer is due: the next look, and with the node up the registry's next call
 * (never before its backoff ends), the next peer attempt and the next probe of missing
 * peers. */
static int64_t next_timer(const struct loop_state *st)
{
    int64_t next = st->check_at;
    if (st->node_up) {
        int64_t registry_next = st->discover_at;
        if (st->reg->has_lease)
            registry_next = min64(registry_next, st->registered ? st->renew_at : 0);
        if (registry_next < st->registry_retry_at)
            registry_next = st->registry_retry_at;
        next = min64(next, registry_next);
        next = min64(next, peer_set_next_attempt(&st->peers));
        next = min64(next, loop_heal_next(st));
    }
    return next;
}

/* The app node's connection has input outside a call. Returns false when the node is gone
 * (the loop has stopped). */
static bool handle_node_input(struct loop_state *st)
{
    char err[512];
    if (erlang_node_handle_input(st->node, err, sizeof err) == 0)
        return true;
    int64_t lost_at = monotonic_ms();
    char cerr[512];
    /* One immediate reconnect tells a dropped connection from a dead node. */
    int rc = st->node_up
                 ? erlang_node_connect(st->node, NODE_CONNECT_TIMEOUT_MS / 2, cerr, sizeof cerr)
                 : -1;
    if (rc == 0)
        return true;
    note_error(st, NODE_ERR, "%s", err);
    bool gone = st->node_up && rc != ERLANG_NODE_SLOW;
    if (st->node_up && loop_clear_text_after_failure(st, gone) < 0)
        return stop_for_clear_text(st);
    if (gone) {
        LOG_INFO(st->log, "app node %s is gone (%s)", st->cfg->node_name, err);
        stop(st, lost_at, "app node gone");
        return false;
    }
    return true;
}

/* Sleeps until the next timer (at once when signalled), a signal or input from the app node,
 * and handles what woke it. Returns false when the loop has stopped. */
static bool wait_and_handle(struct loop_state *st, bool signalled)
{
    int64_t wait = next_timer(st) - monotonic_ms();
    if (wait < 0 || signalled)
        wait = 0;
    if (wait > MAX_WAIT_MS)
        wait = MAX_WAIT_MS;
    struct pollfd fds[2] = {{.fd = st->cfg->signal_fd, .events = POLLIN},
                            {.fd = st->node->fd, .events = POLLIN}};
    int nfds = erlang_node_connected(st->node) ? 2 : 1;
    /* Input TLS has decrypted already never makes the fd readable: handle it first. */
    bool pending = nfds == 2 && erlang_node_input_pending(st->node);
    if (pending)
        wait = 0;
    int r = poll(fds, (nfds_t)nfds, (int)wait);
    if (r < 0) {
        if (errno == EINTR)
            return true;
        LOG_ERROR(st->log, "poll failed: %s", strerror(errno));
        st->exit_code = 1;
        stop(st, monotonic_ms(), "internal error");
        return false;
    }
    if (fds[0].revents & POLLIN) {
        int64_t stop_at = monotonic_ms();
        int sig = take_signal(st);
        if (sig == SIGTERM || sig == SIGINT) {
            const char *name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
            LOG_INFO(st->log, "received %s", name);
            stop(st, stop_at, name);
            return false;
        }
    }
    if (nfds == 2 && (pending || (fds[1].revents & (POLLIN | POLLHUP | POLLERR))))
        return handle_node_input(st);
    return true;
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
    st.node_deadline = start + (int64_t)cfg->node_wait_s * 1000;
    st.node_wait_logged_at = start;
    st.owner_state = -1;
    st.owner_checked_at = start - OWNER_CHECK_MS; /* the first wait looks at once */
    LOG_INFO(log, "waiting for app node %s (up to %d s)", cfg->node_name, cfg->node_wait_s);
    write_status(&st);

    for (;;) {
        bool signalled = false;
        /* Discovery does not wait for the node, so the first dials can go out at once. */
        if (!st.node_up)
            signalled = !loop_registry_discover(&st);
        if (!st.node_up && !signalled && monotonic_ms() >= st.check_at && !try_app_node(&st))
            break;
        if (st.node_up && !tend_cluster(&st, &signalled))
            break;
        write_status(&st);
        if (!wait_and_handle(&st, signalled))
            break;
    }
    peer_set_free(&st.peers);
    free(st.last_status);
    return st.exit_code;
}
