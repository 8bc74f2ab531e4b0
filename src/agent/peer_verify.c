/* No dial by the app node, and so no atom in its VM, for a peer that has not proved itself.
 * Every name a registry lists would otherwise become net_kernel:connect_node(Name) on the app
 * node: a permanent atom, and a dial of whatever address the name holds, with a cookie
 * challenge answered to whoever listens there. So before the app node is asked to dial a peer
 * it has never been connected to, the agent completes a distribution handshake of its own
 * with it (erlang_node_probe_peer: the cookie both ways, with TLS the certificate checks too)
 * at the listed address and checks that the peer calls itself by the listed name. A peer that
 * fails keeps its backoff and never reaches the node. A peer that has failed before is probed
 * again, so a peer with another cookie is told apart from a dead one. */
#include "agent/loop_state.h"
#include "common/clock.h"

#include <stdio.h>
#include <string.h>

#define VERIFY_TIMEOUT_MS 1000 /* a handshake on the container network takes milliseconds */

/* Logs a failed check: each at debug, and the latest as a warning at most once a minute,
 * with how many failed since (a registry may list thousands that fail). */
static void say_refused(struct loop_state *st, const char *err, int64_t now)
{
    note_error(st, PEER_ERR, "%s", err);
    LOG_DEBUG(st->log, "%s; not connecting", err);
    st->verify_failures++;
    if (now - st->peer_error_logged_at < REPEAT_LOG_MS)
        return;
    if (st->verify_failures > 1)
        LOG_WARN(st->log, "%s; not connecting (%u peers failed the handshake since the last "
                          "such line)", err, st->verify_failures);
    else
        LOG_WARN(st->log, "%s; not connecting", err);
    st->peer_error_logged_at = now;
    st->verify_failures = 0;
}

/* Whether the app node may dial p, after the agent's own handshake with it. */
static bool passes_probe(struct loop_state *st, struct peer *p)
{
    char err[512];
    int64_t now = monotonic_ms();
    switch (erlang_node_probe_peer(st->node, p->name, VERIFY_TIMEOUT_MS, err, sizeof err)) {
    case PEER_PROBE_ACCEPTED:
        if (!p->verified)
            LOG_DEBUG(st->log, "%s passed our handshake (cookie%s, name)", p->name,
                      st->node->tls ? ", certificate" : "");
        p->verified = true;
        if (p->cookie_refused) {
            p->cookie_refused = false;
            LOG_INFO(st->log, "%s accepts our cookie now; connecting", p->name);
        }
        return true;
    case PEER_PROBE_COOKIE_REFUSED:
        note_error(st, PEER_ERR, "%s", err);
        if (peer_set_mark_cookie_refused(&st->peers, p->name, now)) /* news: said once */
            LOG_WARN(st->log, "%s (another droplet whose build cache was cleared, or another "
                              "app with cluster name %s); not connecting, retrying every %d "
                              "min; give both the same ERLANG_CLUSTER_COOKIE to join them",
                     err, st->cfg->cluster, COOKIE_REFUSED_RETRY_MS / 60000);
        return false;
    case PEER_PROBE_TLS_REFUSED:
        /* Not its cookie: its certificate or ours (another app's node, or a CA or allow list
         * that differs). Rotation may change that, so the usual backoff applies. */
    case PEER_PROBE_WRONG_NAME:
        /* Whoever listens there is not the node the registry named: a stale entry whose
         * address another instance has now, or a forged one. */
        say_refused(st, err, now);
        return false;
    default:
        if (p->verified) {
            LOG_DEBUG(st->log, "probe: %s", err);
            return true; /* known: the node's own dial will tell */
        }
        /* Not up yet, or nobody there: the heal probes dial it (through here) once its
         * port answers. */
        p->unreachable = true;
        LOG_DEBUG(st->log, "checking %s before the app node may connect to it: %s", p->name,
                  err);
        return false;
    }
}

int loop_dial_peer(struct loop_state *st, const char *name, int64_t probe_deadline, char *err,
                   size_t errlen)
{
    struct peer *p = peer_set_find(&st->peers, name);
    if (p == NULL)
        return DIAL_HELD; /* no longer listed */
    bool probe = !p->verified || p->failures >= 2 || p->cookie_refused;
    if (probe && monotonic_ms() >= probe_deadline) {
        if (!p->verified) {
            peer_set_defer(p, monotonic_ms()); /* verified at the next look */
            return DIAL_DEFERRED;
        }
        probe = false; /* known: dialled without the extra look, as before */
    }
    if (probe && !passes_probe(st, p))
        return DIAL_HELD;
    LOG_DEBUG(st->log, "asking %s to connect to %s", st->cfg->node_name, name);
    return erlang_node_connect_peer(st->node, name, RPC_TIMEOUT_MS, err, errlen);
}
