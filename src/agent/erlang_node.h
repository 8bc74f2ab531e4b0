/* The Erlang side: a hidden C node (erl_interface) connected to the local app node, which it
 * asks for nodes() and has connect to missing peers. Every call is bounded by a timeout.
 * The connection is in erlang_node.c, the calls in erlang_rpc.c, the cookie probe in
 * erlang_probe.c; all of them speak through dist_socket (clear text or TLS). */
#ifndef ECB_AGENT_ERLANG_NODE_H
#define ECB_AGENT_ERLANG_NODE_H

#include "agent/dist_socket.h"
#include "common/strlist.h"
#include "launch/tls_identity.h"

#include <ei.h>
#include <stdbool.h>

struct erlang_node;

/* The seams of the Erlang side (tests put fakes here; NULL: the real thing). rpc sends
 * mod:fun(args) and leaves the Reply of {rex, Reply} at index 0 of reply; it returns 0, -1
 * or ERLANG_NODE_STOPPED with err set. probe is erlang_node_probe_peer's dial. */
typedef int (*erlang_rpc_fn)(struct erlang_node *node, const char *mod, const char *fun,
                             const ei_x_buff *args, ei_x_buff *reply, unsigned timeout_ms,
                             char *err, size_t errlen);
enum peer_probe;
typedef enum peer_probe (*erlang_probe_fn)(struct erlang_node *node, const char *peer,
                                           unsigned timeout_ms, char *err, size_t errlen);

struct erlang_node {
    ei_cnode cnode;
    int fd;              /* connection to the app node, -1 when not connected */
    char *target;        /* the app node's name, base@host */
    char *host;          /* its host part */
    int port;            /* its distribution port (epmd-less) */
    bool epmd;           /* look the port up through epmd instead */
    char *cookie;        /* secret */
    unsigned connects;   /* connections attempted: a fresh creation for each */
    int stop_fd;         /* readable means "stop waiting" (the loop's signalfd); -1: none */
    bool tls;            /* TLS distribution with tls_identity (erlang_node_use_tls) */
    struct tls_identity tls_identity;
    struct dist_socket_setup sock; /* the connection's socket callbacks */
    erlang_rpc_fn rpc;             /* NULL: over the connection (erlang_rpc.c) */
    erlang_probe_fn probe;         /* NULL: a handshake of our own (erlang_probe.c) */
    unsigned sessions;   /* connections made so far: a new one may be a restarted node */
    struct erlang_node_refusal {
        bool cookie;          /* it closed the connection on our challenge reply */
        bool tls;             /* it (or we) refused at the TLS layer; sock.error says why */
        char answered_as[512]; /* the name its challenge gave, when not node->target */
    } refusal;                /* of the last ERLANG_NODE_REFUSED */
};

/* Copies its arguments; stop_fd starts at -1. Returns -1 with err set on bad input. */
int erlang_node_init(struct erlang_node *node, const char *target, int port, bool epmd,
                     const char *cookie, char *err, size_t errlen);
void erlang_node_free(struct erlang_node *node);

/* From now on every connection to the app node and every probe of a peer speaks TLS with
 * this identity, which the node takes over (*id is left empty). */
void erlang_node_use_tls(struct erlang_node *node, struct tls_identity *id);

/* Connects (if not connected) within timeout_ms. Returns 0, -1 with err set, or
 * ERLANG_NODE_SLOW when the attempt timed out: something is there but did not answer in time
 * (a GC pause, a starved CPU), which is no reason to give the node up. */
#define ERLANG_NODE_SLOW (-2)
/* Or ERLANG_NODE_REFUSED: something there refused us (node->refusal says how: another
 * cookie, the TLS layer) or let us in under another name than node->target (the connection
 * is closed again). Unlike a port nobody listens on, that stays so until the node restarts. */
#define ERLANG_NODE_REFUSED (-4)
int erlang_node_connect(struct erlang_node *node, unsigned timeout_ms, char *err, size_t errlen);

/* The last failed connection attempt got as far as a TCP connection: something listens
 * there, whatever it did next (closed it, refused us at the TLS layer, did not answer). */
bool erlang_node_attempt_reached(const struct erlang_node *node);

/* Whether something listens on the node's port (epmd-less), by a bare TCP connection that
 * the node does not log: how a refusing node is seen to go away without dialling it. True
 * when it cannot tell (epmd, a host name). */
bool erlang_node_port_listening(const struct erlang_node *node, unsigned timeout_ms);

/* erlang_node_connect in clear text whatever the node's setting: only for the proof that a
 * TLS node refuses clear text, and to stop a node that does not (erlang_tls_proof.c). */
int erlang_node_connect_clear(struct erlang_node *node, unsigned timeout_ms, char *err,
                              size_t errlen);
void erlang_node_disconnect(struct erlang_node *node);
bool erlang_node_connected(const struct erlang_node *node);

/* An rpc gave up because node->stop_fd became readable (the fd is left unread). */
#define ERLANG_NODE_STOPPED (-3)

/* erlang:nodes() of the app node, into out (empty on entry). On any failure (no answer, an
 * answer that does not decode, ERLANG_NODE_STOPPED) the connection is closed: a late answer
 * must not be taken for the next one, and the next call connects afresh. */
int erlang_node_list(struct erlang_node *node, struct strlist *out, unsigned timeout_ms,
                     char *err, size_t errlen);

/* Has the app node start net_kernel:connect_node(Peer) in a process of its own, so a dead
 * peer's connect timeout never blocks this loop; the outcome shows in a later nodes(). Fails
 * and closes the connection as erlang_node_list does. */
int erlang_node_connect_peer(struct erlang_node *node, const char *peer, unsigned timeout_ms,
                             char *err, size_t errlen);

/* When the app node is still setting up a connection to peer (net_kernel:node_info/1 says
 * pending: its SYNs wait on TCP's retransmission timer, and connect_node would only join it),
 * kills the set-up's process so that the next connect_node starts afresh. Returns 1 when it
 * aborted one, 0 when none was pending; fails and closes the connection as
 * erlang_node_list does. */
int erlang_node_abort_setup(struct erlang_node *node, const char *peer, unsigned timeout_ms,
                            char *err, size_t errlen);

/* The connection holds input already decrypted (TLS): poll() on node->fd would not show it,
 * so erlang_node_handle_input must be called before waiting on the fd. */
bool erlang_node_input_pending(const struct erlang_node *node);

/* The connection's fd is readable outside a call: answer ticks. Returns -1 when the
 * connection is gone (the node stopped or dropped us). */
int erlang_node_handle_input(struct erlang_node *node, char *err, size_t errlen);

/* Dials peer itself, with the app node's cookie (and over TLS with the node's identity when
 * it runs TLS distribution), and tells apart a peer that refuses the cookie
 * (PEER_PROBE_COOKIE_REFUSED: it closed the connection on our challenge reply), one refused
 * at the TLS layer (PEER_PROBE_TLS_REFUSED: its certificate or ours not accepted, another
 * app's node, say), one that completed the handshake under another name than peer
 * (PEER_PROBE_WRONG_NAME: whoever listens at that address is not that node), and one that
 * does not answer or fails the handshake otherwise. ACCEPTED means the whole handshake
 * passed: the peer proved it holds the cookie (and its certificate passed) and named itself
 * peer. An accepted probe connection is closed at once. err says what happened in every
 * case but ACCEPTED. */
enum peer_probe {
    PEER_PROBE_ACCEPTED,
    PEER_PROBE_COOKIE_REFUSED,
    PEER_PROBE_TLS_REFUSED,
    PEER_PROBE_WRONG_NAME,
    PEER_PROBE_UNREACHABLE,
};
enum peer_probe erlang_node_probe_peer(struct erlang_node *node, const char *peer,
                                       unsigned timeout_ms, char *err, size_t errlen);

/* The proof that a TLS node speaks TLS only (erlang_tls_proof.c). */

/* Dials the node in clear text with the cookie, on a connection of its own that is closed
 * at once. Returns 1 when the node let it in, 0 when it was refused (or nobody answered),
 * -1 when it could not be tried; err says which in every case. */
int erlang_node_clear_text_accepted(struct erlang_node *node, unsigned timeout_ms, char *err,
                                    size_t errlen);

/* The node's own -proto_dist flags (init:get_argument(proto_dist)), every value in order,
 * space-separated, into out: "inet_tls" for a TLS node, "" when it has none (plain TCP).
 * Fails and closes the connection as erlang_node_list does. */
int erlang_node_proto_dist(struct erlang_node *node, char *out, size_t outlen,
                           unsigned timeout_ms, char *err, size_t errlen);

/* Has the node stop its distribution (net_sup terminated under kernel_sup): it is then
 * reachable by no one, this connection included, which is closed. */
int erlang_node_stop_distribution(struct erlang_node *node, unsigned timeout_ms, char *err,
                                  size_t errlen);

#endif
