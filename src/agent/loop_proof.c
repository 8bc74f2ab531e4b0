/* The run-time proof that a node set up for TLS distribution speaks TLS only, on every new
 * connection to it (node-up, and a reconnection, which may be a restarted node): a
 * clear-text handshake with the cookie must be refused, and the node's own -proto_dist must
 * be inet_tls alone. A TLS attempt that fails after its TCP connection was made (a
 * clear-text node closes a TLS hello after its net_setuptime) is followed by that clear-text
 * handshake too. The launch step keeps a second -proto_dist out of the flags it knows
 * of; this check does not depend on knowing them. A node that fails it gets its distribution
 * stopped, so that it is reachable by no one rather than in clear text. */
#include "agent/loop_state.h"
#include "common/clock.h"

#include <string.h>

#define PROOF_TIMEOUT_MS 1000
#define STOPPED_WITHIN_MS 3000
/* After a failed TLS attempt the node is dialled in clear text at most this often: against
 * a TLS node each look is one refused connection (a line in its log). */
#define CLEAR_TEXT_CHECK_MS 5000

static const char FIX[] =
    "a second -proto_dist (or -epmd_module) reached the node from the app's own emulator "
    "flags: look for it in ERL_AFLAGS, ERL_ZFLAGS, ERL_FLAGS, ELIXIR_ERL_OPTIONS, the "
    "release's vm.args / rel/vm.args.eex / rel/env.sh.eex and a relx vm.args, remove it and "
    "restart the app (or set ERLANG_CLUSTER_TLS=false to run clear text on purpose)";

/* Waits (bounded) until a clear-text handshake is refused. */
static bool clear_text_refused_soon(struct loop_state *st)
{
    char why[512];
    int64_t deadline = monotonic_ms() + STOPPED_WITHIN_MS;
    do {
        if (erlang_node_clear_text_accepted(st->node, PROOF_TIMEOUT_MS, why, sizeof why) == 0)
            return true;
        struct timespec pause = {.tv_nsec = 50 * 1000000L};
        nanosleep(&pause, NULL);
    } while (monotonic_ms() < deadline);
    return false;
}

/* The node runs clear text: stop its distribution (over the connection we hold, clear or
 * TLS), check that it took, and say so. Always returns -1. */
static int clear_text_found(struct loop_state *st, const char *evidence)
{
    char err[512];
    int stopped = erlang_node_stop_distribution(st->node, PROOF_TIMEOUT_MS, err, sizeof err);
    bool unreachable = clear_text_refused_soon(st);
    st->clear_despite_tls = true;
    st->state_name = "stopped";
    const char *outcome = unreachable
                              ? "stopped its distribution; this instance stays unclustered"
                              : "could NOT stop its distribution: stop the app";
    LOG_ERROR(st->log, "distribution: CLEAR TEXT although ERLANG_CLUSTER_TLS=true: app node %s %s; "
                       "%s%s%s. Fix: %s",
              st->cfg->node_name, evidence, outcome, stopped != 0 ? " (" : "",
              stopped != 0 ? err : "", FIX);
    note_error(st, NODE_ERR, "app node %s %s; %s. Fix: %s", st->cfg->node_name, evidence, outcome,
               FIX);
    return -1;
}

int loop_prove_tls(struct loop_state *st)
{
    struct erlang_node *node = st->node;
    if (!node->tls || !erlang_node_connected(node) || st->proved_session == node->sessions)
        return 0;
    int64_t start = monotonic_ms();
    char clear_why[512], flags[256], err[512];
    int clear = erlang_node_clear_text_accepted(node, PROOF_TIMEOUT_MS, clear_why,
                                                sizeof clear_why);
    int64_t handshake_done = monotonic_ms();
    int viewed = erlang_node_proto_dist(node, flags, sizeof flags, PROOF_TIMEOUT_MS, err,
                                        sizeof err);
    if (viewed == ERLANG_NODE_STOPPED)
        return 1;
    if (viewed != 0) {
        /* Not answered (the connection is closed): the next connection is proved afresh. */
        LOG_DEBUG(st->log, "TLS proof not finished: %s", err);
        return 0;
    }
    bool flags_ok = strcmp(flags, "inet_tls") == 0;
    if (clear == 1 || !flags_ok) {
        char evidence[1024];
        snprintf(evidence, sizeof evidence, "%s%s-proto_dist %s", clear == 1 ? clear_why : "",
                 clear == 1 ? ", and runs " : "runs ", flags[0] ? flags : "(none: inet_tcp)");
        /* The -proto_dist flags are evidence enough: a clear-text node is stopped anyway. */
        return clear_text_found(st, evidence);
    }
    if (clear < 0)
        LOG_WARN(st->log, "the clear-text half of the TLS proof could not run: %s", clear_why);
    st->proved_session = node->sessions;
    LOG_DEBUG(st->log, "TLS proved: %s, -proto_dist inet_tls (%lld ms: handshake %lld, rpc %lld)",
              clear_why, (long long)(monotonic_ms() - start),
              (long long)(handshake_done - start), (long long)(monotonic_ms() - handshake_done));
    return 0;
}

/* Dials the node in clear text: -1 (stopped) when it lets our cookie in, else 0. */
static int catch_clear_text(struct loop_state *st)
{
    struct erlang_node *node = st->node;
    char err[512], flags[256] = "";
    if (erlang_node_connect_clear(node, PROOF_TIMEOUT_MS, err, sizeof err) != 0)
        return 0;
    /* Let in: a clear-text node with our cookie. Its own flags, for the fix. */
    char view_err[512];
    if (erlang_node_proto_dist(node, flags, sizeof flags, PROOF_TIMEOUT_MS, view_err,
                               sizeof view_err) != 0) {
        snprintf(flags, sizeof flags, "?");
        if (erlang_node_connect_clear(node, PROOF_TIMEOUT_MS, err, sizeof err) != 0)
            return clear_text_found(st, "accepted a clear-text handshake with the cookie");
    }
    char evidence[1024];
    snprintf(evidence, sizeof evidence,
             "speaks no TLS and accepted a clear-text handshake with the cookie, and runs "
             "-proto_dist %s", flags[0] ? flags : "(none: inet_tcp)");
    return clear_text_found(st, evidence);
}

int loop_clear_text_after_failure(struct loop_state *st, bool giving_up)
{
    /* A clear-text node closes a TLS hello after its net_setuptime, or lets it time out: a
     * refusal at the TLS layer and a timeout both may be one. */
    if (!st->node->tls || erlang_node_connected(st->node) ||
        !erlang_node_attempt_reached(st->node))
        return 0;
    int64_t now = monotonic_ms();
    if (!giving_up && now < st->clear_check_at)
        return 0;
    st->clear_check_at = now + CLEAR_TEXT_CHECK_MS;
    return catch_clear_text(st);
}
