/* The peers' side of the loop: a look at the app node's nodes(), and connections started to
 * the peers that are due (those lost or failed before, and new ones, only when their port
 * answers; new ones, those that failed and those that refused our cookie only after a
 * handshake of the agent's own: peer_verify.c). */
#include "agent/loop_state.h"
#include "common/clock.h"

#include <poll.h>
#include <string.h>

#define PROBE_BUDGET_MS 1000        /* probing per look, so dead peers never stall the loop */

/* A stop signal is waiting: long work should yield to the loop, which deregisters. */
static bool signal_pending(const struct loop_state *st)
{
    struct pollfd pfd = {.fd = st->cfg->signal_fd, .events = POLLIN};
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN);
}

/* What a look at nodes() found. */
enum look {
    LOOK_OK,         /* the app node answered: the peer set is up to date */
    LOOK_AGAIN_SOON, /* it was slow, or the connection had to be made again */
    LOOK_NODE_GONE,
    LOOK_STOPPED,    /* a stop signal cut the rpc short */
};

/* The app node's nodes() into the peer set, logging who joined and who was lost. A failed
 * call gets one reconnect, which tells a slow node from a dead one. */
static enum look look_at_nodes(struct loop_state *st, int64_t now)
{
    char err[512];
    struct strlist nodes = {0};
    int listed = erlang_node_list(st->node, &nodes, RPC_TIMEOUT_MS, err, sizeof err);
    if (listed == ERLANG_NODE_STOPPED) {
        strlist_clear(&nodes);
        return LOOK_STOPPED;
    }
    if (listed != 0) {
        strlist_clear(&nodes);
        LOG_DEBUG(st->log, "%s; reconnecting", err);
        char cerr[512];
        int rc = erlang_node_connect(st->node, NODE_CONNECT_TIMEOUT_MS, cerr, sizeof cerr);
        /* A restarted node may run clear text and close our TLS hello. */
        if (rc != 0 && loop_clear_text_after_failure(st, rc != ERLANG_NODE_SLOW) < 0)
            return LOOK_NODE_GONE; /* its distribution is stopped: st->clear_despite_tls */
        if (rc == ERLANG_NODE_SLOW) {
            note_error(st, NODE_ERR, "%s", cerr);
            return LOOK_AGAIN_SOON;
        }
        if (rc != 0) {
            note_error(st, NODE_ERR, "%s", cerr);
            LOG_INFO(st->log, "app node %s is gone (%s)", st->cfg->node_name, cerr);
            return LOOK_NODE_GONE;
        }
        /* Connected again: the node is alive but was slow; look again soon. */
        note_error(st, NODE_ERR, "%s", err);
        return LOOK_AGAIN_SOON;
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
    return LOOK_OK;
}

/* Has the app node start a connection to every due peer worth it. Returns true when a stop
 * signal cut an rpc short. */
static bool connect_due_peers(struct loop_state *st, int64_t now)
{
    char err[512];
    struct strlist due = {0};
    if (peer_set_take_due(&st->peers, now, &due) != 0)
        LOG_ERROR(st->log, "cannot schedule peer connections: out of memory");
    if (loop_heal_drop_silent(st, &due) > 0) {
        strlist_clear(&due);
        return true;
    }
    int64_t probe_deadline = monotonic_ms() + PROBE_BUDGET_MS;
    for (size_t i = 0; i < due.len; i++) {
        if (signal_pending(st))
            break; /* stopping comes first */
        int asked = loop_dial_peer(st, due.items[i], probe_deadline, err, sizeof err);
        if (asked == DIAL_HELD || asked == DIAL_DEFERRED)
            continue;
        if (asked == ERLANG_NODE_STOPPED) {
            strlist_clear(&due);
            return true;
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
    int64_t next = due.len > 0 ? FAST_POLL_MS : loop_current_interval(st, now);
    st->check_at = now + (next < MESHED_LOOK_MS ? next : MESHED_LOOK_MS);
    strlist_clear(&due);
    return false;
}

int loop_check_peers(struct loop_state *st, int64_t now)
{
    switch (look_at_nodes(st, now)) {
    case LOOK_STOPPED:
        return 1;
    case LOOK_NODE_GONE:
        return -1;
    case LOOK_AGAIN_SOON:
        st->check_at = now + FAST_POLL_MS;
        return 0;
    default:
        return connect_due_peers(st, now) ? 1 : 0;
    }
}
