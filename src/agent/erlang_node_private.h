/* Inside the Erlang side (erlang_node.c, erlang_rpc.c, erlang_probe.c only). */
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

#endif
