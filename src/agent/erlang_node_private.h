/* Inside the Erlang side (erlang_node.c, erlang_rpc.c, erlang_probe.c, erlang_tls_proof.c
 * only). */
#ifndef ECB_AGENT_ERLANG_NODE_PRIVATE_H
#define ECB_AGENT_ERLANG_NODE_PRIVATE_H

#include "agent/erlang_node.h"

#include <stdbool.h>

/* What an erl_errno means, in words. */
const char *erlang_node_error_text(int code);

/* ei reports both a closed connection and a control message it does not handle (a
 * monitor from the node, say) as EIO, having consumed the whole message in the second case.
 * The socket layer tells the two apart. */
bool erlang_node_connection_closed(const struct erlang_node *node);

/* MOD:FUN on the app node from start to end (erlang_rpc.c): encode fills the argument list
 * from in (-1: cannot); the call is bounded by timeout_ms and cut short by node->stop_fd;
 * decode reads the answer (at index 0 of reply) into out and returns >= 0, or -1 with err
 * set. Returns what decode returned, -1 or ERLANG_NODE_STOPPED; on failure the connection is
 * closed. */
typedef int (*rpc_encode_fn)(ei_x_buff *args, const void *in);
typedef int (*rpc_decode_fn)(const struct erlang_node *node, const ei_x_buff *reply, void *out,
                             char *err, size_t errlen);
int rpc_exchange(struct erlang_node *node, const char *mod, const char *fun,
                 rpc_encode_fn encode, const void *in, rpc_decode_fn decode, void *out,
                 unsigned timeout_ms, char *err, size_t errlen);

#endif
