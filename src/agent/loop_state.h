/* Inside the run loop (loop*.c only): the loop's state and timings, shared by its three
 * parts: the outline and the app node (loop.c), the registry's timers (loop_registry.c) and
 * the peers (loop_peers.c). */
#ifndef ECB_AGENT_LOOP_STATE_H
#define ECB_AGENT_LOOP_STATE_H

#include "agent/loop.h"
#include "agent/status.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define FAST_POLL_MS 1000           /* while starting or while a fresh peer is missing */
/* In a complete mesh nodes() is still asked of the local node this often, whatever the
 * discovery interval: a connection that drops (a tick timeout, a short cut) is dialled again
 * within this, not at the next discovery. A look costs about 0.5 ms of CPU (an rpc and the
 * status view), so once a second would break the idle target of 1 CPU-s an hour. */
#define MESHED_LOOK_MS 10000
#define NODE_CONNECT_TIMEOUT_MS 1000
#define REPEAT_LOG_MS 60000         /* a repeated error is logged at most this often */
/* A peer that refused our cookie keeps refusing until it restarts (the cookie is fixed for a
 * node's life), and every refusal is a few lines in its log: try it rarely. */
#define COOKIE_REFUSED_RETRY_MS 600000
#define RPC_TIMEOUT_MS 2000

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
    unsigned verify_failures;   /* peers that failed our handshake since the last warning */
    int64_t node_wait_logged_at;
    bool node_wait_extended; /* past node_deadline while the start command still runs */
    int owner_state;         /* launch_claim_owner_state, looked at every OWNER_CHECK_MS */
    int64_t owner_checked_at;
    const char *state_name;
    int64_t node_deadline;  /* the app node must be up by then */
    int64_t heal_at;        /* next probe of the missing peers (loop_heal.c) */
    bool heal_silent;       /* the last probe round reached none of them */
    int64_t cut_off_since;  /* every peer lost and silent since then; 0: not cut off */
    int exit_code;          /* when the loop stops */
    unsigned proved_session;   /* node->sessions when TLS was last proved (loop_proof.c) */
    bool clear_despite_tls;    /* the node ran clear text with TLS on: stopped */
    int64_t clear_check_at;    /* next look for a clear-text node after a failed TLS attempt */
    int64_t refused_retry_at;  /* a refusing node is dialled again then */
    unsigned node_refusals;    /* refused attempts in a row while waiting for the node */
    char node_refusal_said[1024]; /* the refusal last logged, so each is said once */

    struct status_error last_error;
    time_t registered_at;
    time_t last_discovery_at;
    char *last_status;
    bool status_error_logged;
};

/* The last error `status` shows; a condition that goes away clears its own kind. */
#define note_error(st, kind, ...) status_error_set(&(st)->last_error, (kind), time(NULL), __VA_ARGS__)
#define NODE_ERR STATUS_ERROR_NODE
#define REGISTRY_ERR STATUS_ERROR_REGISTRY
#define PEER_ERR STATUS_ERROR_PEER

/* How long until the next discovery: see loop_poll_interval_ms. */
int64_t loop_current_interval(const struct loop_state *st, int64_t now);

/* Register, renew and discover as their timers say (loop_registry.c). Returns false when a
 * signal arrived. */
bool loop_registry_step(struct loop_state *st, int64_t now);

/* Discovery alone, when due (loop_registry.c): while the app node starts, so its peers are
 * known when it is up; registration waits for the node. Returns false when a signal
 * arrived. */
bool loop_registry_discover(struct loop_state *st);

/* Looks at nodes() and starts connections to due peers (loop_peers.c). Returns -1 when the
 * app node is gone (or, st->clear_despite_tls set, was found running clear text), 1 when a stop signal cut an rpc short (the signal is still unread),
 * else 0. */
int loop_check_peers(struct loop_state *st, int64_t now);

/* Probes the ports of wanted peers that are missing after a connection attempt, and has the
 * app node dial those whose port answers again, aborting a set-up still stuck a second later
 * (loop_heal.c). Returns 1 when a stop signal is waiting, else 0. */
int loop_heal_step(struct loop_state *st, int64_t now);

/* Probes the ports of the due peers whose dial could leave a set-up pending (lost ones, and
 * those that failed before) and takes those that stay silent out of due: the heal probes
 * dial them when they answer (loop_heal.c). Returns 1 when a stop signal is waiting, else 0. */
int loop_heal_drop_silent(struct loop_state *st, struct strlist *due);

/* Has the app node dial the peer name (peer_verify.c). A peer it has never been connected to
 * (or whose dial failed before) is first dialled by the agent itself: only a peer that
 * completes the handshake (cookie, with TLS its certificate) under the listed name is
 * dialled by the node. Probing stops at probe_deadline (monotonic ms): after it a peer that
 * is not verified is put back (due again at once), a known one is dialled without a probe.
 * Returns DIAL_ASKED, DIAL_HELD (not dialled: refused, or not answering yet),
 * DIAL_DEFERRED, ERLANG_NODE_STOPPED, or -1 when the rpc failed (err set; the connection to
 * the app node was reset). */
enum { DIAL_ASKED = 0, DIAL_HELD = 1, DIAL_DEFERRED = 2 };
int loop_dial_peer(struct loop_state *st, const char *name, int64_t probe_deadline, char *err,
                   size_t errlen);

/* Cut off: every peer lost and none answering a probe, for less than 30 s. Registry calls
 * then wait: each would block the loop for its timeout (2 s for DNS, whose server is
 * probably cut off too), and the probes that notice the network coming back with it. After
 * 30 s they go on as usual (a peer set that is all dead must not hold up discovery long). */
bool loop_heal_cut_off(struct loop_state *st, int64_t now);

/* The app node refused the agent (erlang_node_connect said ERLANG_NODE_REFUSED): says why
 * once, with the fix, in the log and status, and sets when to look again
 * (loop_node_refusal.c). */
void loop_node_refused(struct loop_state *st, int64_t now);

/* While the app node refuses: true when the refusal still holds and nothing is to be dialled
 * now (check_at is set); false when it is time to dial, or the refusing node has gone from
 * the port. */
bool loop_node_refusal_holds(struct loop_state *st, int64_t now);

/* With TLS on and a connection to the app node made since the last proof: proves that it
 * speaks TLS only (loop_proof.c). Returns 0 when it did, or there was nothing to prove, or
 * the node did not answer (the connection is closed then, and the next one is proved);
 * 1 when a stop signal cut it short; -1 when the node runs clear text: its distribution is
 * stopped, and the loop must stop too. */
int loop_prove_tls(struct loop_state *st);

/* A TLS attempt at the app node failed after its TCP connection was made (it timed out,
 * was closed, refused at the TLS layer or otherwise): what listens there may speak clear
 * text. Looks with a clear-text handshake, at most every few seconds unless giving_up (the
 * loop is about to give the node up). Returns -1 when it is a clear-text node that lets in
 * our cookie (stopped as above, st->clear_despite_tls set), else 0. */
int loop_clear_text_after_failure(struct loop_state *st, bool giving_up);

/* The connection to the app node, if any, is proved (or TLS is off): peers may be dialled. */
static inline bool loop_node_proved(const struct loop_state *st)
{
    return !st->node->tls || st->proved_session == st->node->sessions;
}

/* When loop_heal_step next has work, or INT64_MAX when no peer is worth probing. */
int64_t loop_heal_next(const struct loop_state *st);

#endif
