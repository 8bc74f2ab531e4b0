/* The app node refuses the agent (another cookie, another name, our certificate): until it
 * restarts it goes on refusing, and each refusal is a report in the app's log. So the agent
 * says once why and what to do, dials it again after 2 s, then doubling up to 30 s, and in
 * between watches its port with bare connections the node does not log, so that a refusing
 * node that goes away (a pre-step's BEAM, say) is noticed at once. */
#include "agent/loop_state.h"

#include <stdio.h>
#include <string.h>

#define NODE_REFUSED_FIRST_MS 2000
#define NODE_REFUSED_CAP_MS 30000
/* While it refuses, its port is watched this often (a bare connection it does not log), so a
 * node that goes away (a pre-step's BEAM, say) is noticed at once. */
#define REFUSED_PORT_CHECK_MS 250

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* What the app node's refusal means, and what to do about it, in one line. */
static void describe_refusal(const struct loop_state *st, char *line, size_t len)
{
    const struct erlang_node_refusal *r = &st->node->refusal;
    if (r->tls) {
        snprintf(line, len,
                 "app node %s refuses the agent at the TLS layer (%s). Fix: the node's "
                 "certificate and the agent's must be this app's, from a CA both trust: see "
                 "ERLANG_CLUSTER_TLS_CA_FILE and ERLANG_CLUSTER_TLS_ALLOW",
                 st->cfg->node_name, dist_socket_error(&st->node->sock));
        return;
    }
    char what[640];
    if (r->answered_as[0] != '\0')
        snprintf(what, sizeof what, "runs as %s%s", r->answered_as,
                 r->cookie ? " with another cookie" : "");
    else
        snprintf(what, sizeof what, "runs with another cookie (it refused our challenge reply)");
    snprintf(line, len,
             "app node %s refuses the agent: the app's node %s. Fix: the app starts its node "
             "under its own name or cookie (a release's RELEASE_NODE / RELEASE_COOKIE, e.g. in "
             "rel/env.sh.eex, or releases/COOKIE; or --name / --sname / --cookie in the start "
             "command): remove them, or for a Mix release started by a script of its own set "
             "ERLANG_CLUSTER_START_STYLE=mix-release",
             st->cfg->node_name, what);
}

/* The app node refused us: retry later and later, and say why once. */
void loop_node_refused(struct loop_state *st, int64_t now)
{
    int64_t delay = NODE_REFUSED_CAP_MS;
    if (st->node_refusals < 4)
        delay = min64((int64_t)NODE_REFUSED_FIRST_MS << st->node_refusals, NODE_REFUSED_CAP_MS);
    st->node_refusals++;
    char line[sizeof st->node_refusal_said];
    describe_refusal(st, line, sizeof line);
    note_error(st, NODE_ERR, "%s", line);
    st->state_name = "refused-by-node";
    st->refused_retry_at = now + delay;
    if (strcmp(line, st->node_refusal_said) != 0) {
        LOG_WARN(st->log, "%s; retrying at most every %d s", line, NODE_REFUSED_CAP_MS / 1000);
        snprintf(st->node_refusal_said, sizeof st->node_refusal_said, "%s", line);
    }
    st->check_at = now + min64(delay, REFUSED_PORT_CHECK_MS);
}

/* Waiting out a refusal: true while it lasts (check_at is set); false when it is time to
 * dial again, or nothing listens on the port any more (the refusing node is gone: back to
 * the fast wait). */
bool loop_node_refusal_holds(struct loop_state *st, int64_t now)
{
    if (st->node_refusals == 0 || now >= st->refused_retry_at || now >= st->node_deadline)
        return false;
    if (!erlang_node_port_listening(st->node, 100)) {
        LOG_INFO(st->log, "the node that refused the agent has gone from the port; waiting for "
                          "app node %s", st->cfg->node_name);
        st->node_refusals = 0;
        st->node_refusal_said[0] = '\0';
        st->state_name = "waiting-for-node";
        return false;
    }
    st->check_at = now + min64(st->refused_retry_at - now, REFUSED_PORT_CHECK_MS);
    return true;
}
