/* What the app node really speaks, for the run-time proof of TLS distribution (loop_proof.c):
 * whether it lets in a clear-text handshake, its own -proto_dist flags, and stopping its
 * distribution when it runs clear text although it should not. OTP 25's net_kernel starts
 * plain TCP when it is given -proto_dist twice (it reads the flag only when there is exactly
 * one), so TLS flags on the command line prove nothing by themselves. */
#include "agent/dist_socket.h"
#include "agent/erlang_node.h"
#include "agent/erlang_node_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int erlang_node_clear_text_accepted(struct erlang_node *node, unsigned timeout_ms, char *err,
                                    size_t errlen)
{
    struct dist_socket_setup sock;
    dist_socket_setup_init(&sock, NULL);
    ei_cnode cnode;
    char alive[64], full[MAXNODELEN];
    snprintf(alive, sizeof alive, "erlang-cluster-agent-proof-%ld-%u", (long)getpid(),
             ++node->connects);
    snprintf(full, sizeof full, "%s@%s", alive, node->host);
    if (dist_socket_xinit(&cnode, node->host, alive, full, node->cookie, node->connects | 1u,
                          &sock) < 0) {
        snprintf(err, errlen, "cannot set up a C node for the clear-text handshake");
        return -1;
    }
    int fd = node->epmd ? ei_connect_tmo(&cnode, node->target, timeout_ms)
                        : ei_connect_host_port_tmo(&cnode, node->host, node->port, timeout_ms);
    int code = erl_errno;
    explicit_bzero(&cnode, sizeof cnode);
    if (fd >= 0) {
        ei_close_connection(fd);
        snprintf(err, errlen, "it accepted a clear-text handshake with the cookie");
        return 1;
    }
    snprintf(err, errlen, "a clear-text handshake was refused (%s)",
             code == EIO ? "connection closed" : erlang_node_error_text(code));
    return 0;
}

/* Appends the strings of one init:get_argument value (a list of strings) to out. */
static int append_values(const char *buf, int *index, char *out, size_t outlen)
{
    int count;
    if (ei_decode_list_header(buf, index, &count) < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        char value[256];
        int type, size;
        if (ei_get_type(buf, index, &type, &size) < 0 || size >= (int)sizeof value ||
            ei_decode_string(buf, index, value) < 0)
            return -1;
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s%s", used > 0 ? " " : "", value);
    }
    if (count > 0 && ei_skip_term(buf, index) < 0) /* the list's tail */
        return -1;
    return 0;
}

/* [proto_dist] */
static int encode_proto_dist(ei_x_buff *args, const void *in)
{
    (void)in;
    return ei_x_encode_list_header(args, 1) < 0 || ei_x_encode_atom(args, "proto_dist") < 0 ||
                   ei_x_encode_empty_list(args) < 0
               ? -1
               : 0;
}

struct proto_dist_out {
    char *text;
    size_t len;
};

/* init:get_argument(proto_dist): {ok, [Values]} with one Values list per flag, or error. */
static int decode_proto_dist(const struct erlang_node *node, const ei_x_buff *reply, void *out,
                             char *err, size_t errlen)
{
    struct proto_dist_out *o = out;
    int index = 0, arity, count;
    char atom[MAXATOMLEN];
    if (ei_decode_atom(reply->buff, &index, atom) == 0 && strcmp(atom, "error") == 0)
        return 0; /* no -proto_dist at all: plain TCP */
    index = 0;
    if (ei_decode_tuple_header(reply->buff, &index, &arity) < 0 || arity != 2 ||
        ei_decode_atom(reply->buff, &index, atom) < 0 || strcmp(atom, "ok") != 0 ||
        ei_decode_list_header(reply->buff, &index, &count) < 0)
        count = -1;
    for (int i = 0; i < count; i++)
        if (append_values(reply->buff, &index, o->text, o->len) != 0)
            count = -1;
    if (count < 0) {
        snprintf(err, errlen, "init:get_argument(proto_dist) on %s answered something unexpected",
                 node->target);
        return -1;
    }
    return 0;
}

int erlang_node_proto_dist(struct erlang_node *node, char *out, size_t outlen,
                           unsigned timeout_ms, char *err, size_t errlen)
{
    out[0] = '\0';
    struct proto_dist_out o = {out, outlen};
    return rpc_exchange(node, "init", "get_argument", encode_proto_dist, NULL,
                        decode_proto_dist, &o, timeout_ms, err, errlen);
}

/* [supervisor, terminate_child, [kernel_sup, Child]] */
static int encode_terminate(ei_x_buff *args, const void *in)
{
    const char *child = in;
    return ei_x_encode_list_header(args, 3) < 0 || ei_x_encode_atom(args, "supervisor") < 0 ||
                   ei_x_encode_atom(args, "terminate_child") < 0 ||
                   ei_x_encode_list_header(args, 2) < 0 ||
                   ei_x_encode_atom(args, "kernel_sup") < 0 || ei_x_encode_atom(args, child) < 0 ||
                   ei_x_encode_empty_list(args) < 0 || ei_x_encode_empty_list(args) < 0
               ? -1
               : 0;
}

/* A pid: the spawn happened. */
static int decode_spawned_pid(const struct erlang_node *node, const ei_x_buff *reply, void *out,
                              char *err, size_t errlen)
{
    (void)out;
    int index = 0, type, size;
    if (ei_get_type(reply->buff, &index, &type, &size) < 0 ||
        (type != ERL_PID_EXT && type != ERL_NEW_PID_EXT)) {
        snprintf(err, errlen, "app node %s refused to stop its distribution", node->target);
        return -1;
    }
    return 0;
}

/* erlang:spawn(supervisor, terminate_child, [kernel_sup, Child]): net_kernel:stop()
 * refuses a node started with -name, this does not. Spawned, so the answer comes back
 * before our connection goes down with the rest. */
static int spawn_terminate(struct erlang_node *node, const char *child, unsigned timeout_ms,
                           char *err, size_t errlen)
{
    return rpc_exchange(node, "erlang", "spawn", encode_terminate, child, decode_spawned_pid,
                        NULL, timeout_ms, err, errlen);
}

int erlang_node_stop_distribution(struct erlang_node *node, unsigned timeout_ms, char *err,
                                  size_t errlen)
{
    /* Started from the command line (-name) the distribution is kernel_sup's net_sup; started
     * by net_kernel:start (the launch step's boot expression) it is net_sup_dynamic. Only one
     * exists: the other call finds nothing, or no connection any more, which is fine. */
    int rc = spawn_terminate(node, "net_sup", timeout_ms, err, errlen);
    if (rc == 0 && erlang_node_connected(node)) {
        char ignored[256];
        (void)spawn_terminate(node, "net_sup_dynamic", timeout_ms, ignored, sizeof ignored);
    }
    erlang_node_disconnect(node); /* it goes down with the distribution anyway */
    return rc;
}
