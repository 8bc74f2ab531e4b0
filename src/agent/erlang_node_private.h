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

/* MOD:FUN(Args) on the app node (args: the encoded argument list), bounded by timeout_ms and
 * cut short by node->stop_fd; reply then holds the answer at index 0. On failure the
 * connection is closed (erlang_rpc.c). */
int erlang_node_rpc(struct erlang_node *node, const char *mod, const char *fun,
                    const ei_x_buff *args, ei_x_buff *reply, unsigned timeout_ms, char *err,
                    size_t errlen);

#endif
