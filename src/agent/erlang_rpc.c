/* Calls into the app node: erlang:nodes(), a spawned net_kernel:connect_node/1 and the abort
 * of a pending connection set-up, each bounded by a timeout and cut short by a stop signal. */
#include "agent/erlang_node.h"
#include "agent/erlang_node_private.h"
#include "common/clock.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Waits up to left_ms for input on the connection. Returns 1 when there is some, 0 when there
 * is none yet, ERLANG_NODE_STOPPED when the stop fd became readable first, -1 on error. */
static int wait_for_input(const struct erlang_node *node, int64_t left_ms)
{
    if (erlang_node_input_pending(node))
        return 1; /* decrypted already: the fd may never become readable for it */
    struct pollfd fds[2] = {{.fd = node->fd, .events = POLLIN},
                            {.fd = node->stop_fd, .events = POLLIN}};
    nfds_t count = node->stop_fd >= 0 ? 2 : 1;
    int r = poll(fds, count, (int)left_ms);
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    if (count == 2 && (fds[1].revents & POLLIN))
        return ERLANG_NODE_STOPPED;
    return r > 0 ? 1 : 0;
}

/* Sends an rpc and waits (bounded, and no longer than until the stop fd is readable) for its
 * {rex, Reply}; reply then holds Reply at index 0. */
static int rpc_over_connection(struct erlang_node *node, const char *mod, const char *fun,
                               const ei_x_buff *args, ei_x_buff *reply, unsigned timeout_ms,
                               char *err, size_t errlen)
{
    if (node->fd < 0) {
        snprintf(err, errlen, "not connected to app node %s", node->target);
        return -1;
    }
    if (ei_rpc_to(&node->cnode, node->fd, (char *)mod, (char *)fun, args->buff, args->index) < 0) {
        snprintf(err, errlen, "rpc %s:%s to %s failed to send: %s", mod, fun, node->target,
                 erlang_node_error_text(erl_errno));
        erlang_node_disconnect(node);
        return -1;
    }
    int64_t deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - monotonic_ms();
        if (left <= 0) {
            snprintf(err, errlen, "rpc %s:%s to %s: no answer within %u ms", mod, fun,
                     node->target, timeout_ms);
            erlang_node_disconnect(node);
            return -1;
        }
        int ready = wait_for_input(node, left);
        if (ready == 0)
            continue; /* the deadline check above reports it */
        if (ready == ERLANG_NODE_STOPPED) {
            snprintf(err, errlen, "rpc %s:%s to %s abandoned: stopping", mod, fun, node->target);
            erlang_node_disconnect(node);
            return ERLANG_NODE_STOPPED;
        }
        if (ready < 0) {
            snprintf(err, errlen, "rpc %s:%s to %s: cannot wait for the answer: %s", mod, fun,
                     node->target, strerror(errno));
            erlang_node_disconnect(node);
            return -1;
        }
        erlang_msg msg;
        reply->index = 0;
        int r = ei_rpc_from(&node->cnode, node->fd, (int)left, &msg, reply);
        if (r == ERL_TICK)
            continue;
        if (r == ERL_TIMEOUT)
            continue; /* the deadline check above reports it */
        if (r < 0 && erl_errno == EIO && !erlang_node_connection_closed(node))
            continue; /* a message ei does not handle: skipped */
        if (r < 0) {
            snprintf(err, errlen, "rpc %s:%s to %s: connection lost: %s", mod, fun, node->target,
                     erlang_node_error_text(erl_errno));
            erlang_node_disconnect(node);
            return -1;
        }
        if (msg.msgtype != ERL_SEND && msg.msgtype != ERL_REG_SEND)
            continue;
        int index = 0, version, arity;
        char tag[MAXATOMLEN];
        if (ei_decode_version(reply->buff, &index, &version) < 0 ||
            ei_decode_tuple_header(reply->buff, &index, &arity) < 0 || arity != 2 ||
            ei_decode_atom(reply->buff, &index, tag) < 0 || strcmp(tag, "rex") != 0)
            continue; /* not our reply */
        reply->index -= index;
        memmove(reply->buff, reply->buff + index, (size_t)reply->index);
        return 0;
    }
}

/* One rpc from start to end: encode its arguments, call, decode the answer, free both
 * buffers; on any failure the connection is closed (the header's promise: no half-used
 * connection, and a late answer is never taken for the next one). encode fills args from in
 * (-1: cannot); decode reads reply into out and returns >= 0, or -1 with err set. Returns
 * what decode returned, -1 or ERLANG_NODE_STOPPED. */
int rpc_exchange(struct erlang_node *node, const char *mod, const char *fun,
                 rpc_encode_fn encode, const void *in, rpc_decode_fn decode, void *out,
                 unsigned timeout_ms, char *err, size_t errlen)
{
    ei_x_buff args, reply;
    if (ei_x_new(&args) < 0) {
        snprintf(err, errlen, "out of memory");
        erlang_node_disconnect(node);
        return -1;
    }
    if (ei_x_new(&reply) < 0) {
        ei_x_free(&args);
        snprintf(err, errlen, "out of memory");
        erlang_node_disconnect(node);
        return -1;
    }
    int rc;
    if (encode(&args, in) < 0) {
        snprintf(err, errlen, "cannot encode the arguments of %s:%s", mod, fun);
        rc = -1;
    } else {
        erlang_rpc_fn call = node->rpc != NULL ? node->rpc : rpc_over_connection;
        rc = call(node, mod, fun, &args, &reply, timeout_ms, err, errlen);
        if (rc == 0)
            rc = decode(node, &reply, out, err, errlen);
    }
    ei_x_free(&args);
    ei_x_free(&reply);
    if (rc < 0)
        erlang_node_disconnect(node);
    return rc;
}

/* [] */
static int encode_no_args(ei_x_buff *args, const void *in)
{
    (void)in;
    return ei_x_encode_empty_list(args);
}

/* [Atom] */
static int encode_atom_arg(ei_x_buff *args, const void *in)
{
    if (ei_x_encode_list_header(args, 1) < 0 || ei_x_encode_atom(args, in) < 0)
        return -1;
    return ei_x_encode_empty_list(args);
}

/* [net_kernel, connect_node, [Peer]]: erlang:spawn/3's arguments. */
static int encode_spawn_connect(ei_x_buff *args, const void *in)
{
    if (ei_x_encode_list_header(args, 3) < 0 || ei_x_encode_atom(args, "net_kernel") < 0 ||
        ei_x_encode_atom(args, "connect_node") < 0 || encode_atom_arg(args, in) < 0)
        return -1;
    return ei_x_encode_empty_list(args);
}

/* [Pid, kill]: erlang:exit/2's arguments. */
static int encode_kill(ei_x_buff *args, const void *in)
{
    if (ei_x_encode_list_header(args, 2) < 0 || ei_x_encode_pid(args, in) < 0 ||
        ei_x_encode_atom(args, "kill") < 0)
        return -1;
    return ei_x_encode_empty_list(args);
}

/* A list of atoms into out (a struct strlist). */
static int decode_node_list(const struct erlang_node *node, const ei_x_buff *reply, void *out,
                            char *err, size_t errlen)
{
    int index = 0, count;
    if (ei_decode_list_header(reply->buff, &index, &count) < 0) {
        snprintf(err, errlen, "erlang:nodes() on %s answered something other than a list",
                 node->target);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        char name[MAXATOMLEN_UTF8];
        if (ei_decode_atom(reply->buff, &index, name) < 0) {
            snprintf(err, errlen, "erlang:nodes() on %s answered a non-atom", node->target);
            return -1;
        }
        if (strlist_add(out, name) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

int erlang_node_list(struct erlang_node *node, struct strlist *out, unsigned timeout_ms,
                     char *err, size_t errlen)
{
    int rc = rpc_exchange(node, "erlang", "nodes", encode_no_args, NULL, decode_node_list, out,
                          timeout_ms, err, errlen);
    if (rc != 0)
        strlist_clear(out); /* no half list */
    return rc;
}

/* A pid: the spawned connect_node's process. out is the peer's name, for the message. */
static int decode_spawned(const struct erlang_node *node, const ei_x_buff *reply, void *out,
                          char *err, size_t errlen)
{
    int index = 0, type, size;
    if (ei_get_type(reply->buff, &index, &type, &size) < 0 ||
        (type != ERL_PID_EXT && type != ERL_NEW_PID_EXT)) {
        snprintf(err, errlen, "app node %s refused to start a connection to %s", node->target,
                 (const char *)out);
        return -1;
    }
    return 0;
}

int erlang_node_connect_peer(struct erlang_node *node, const char *peer, unsigned timeout_ms,
                             char *err, size_t errlen)
{
    /* erlang:spawn(net_kernel, connect_node, [Peer]) */
    return rpc_exchange(node, "erlang", "spawn", encode_spawn_connect, peer, decode_spawned,
                        (void *)peer, timeout_ms, err, errlen);
}

/* From net_kernel:node_info(Peer)'s answer: the owner of the connection when it is still being
 * set up. Returns 1 with *owner set, 0 when there is no set-up pending ({error, bad_node}, or
 * a connection already up), -1 when the answer does not decode. */
static int pending_setup_owner(const ei_x_buff *reply, erlang_pid *owner)
{
    int index = 0, arity, count;
    char atom[MAXATOMLEN];
    if (ei_decode_tuple_header(reply->buff, &index, &arity) < 0 || arity != 2 ||
        ei_decode_atom(reply->buff, &index, atom) < 0)
        return -1;
    if (strcmp(atom, "ok") != 0)
        return 0;
    if (ei_decode_list_header(reply->buff, &index, &count) < 0)
        return -1;
    bool pending = false, have_owner = false;
    for (int i = 0; i < count; i++) {
        char key[MAXATOMLEN];
        if (ei_decode_tuple_header(reply->buff, &index, &arity) < 0 || arity != 2 ||
            ei_decode_atom(reply->buff, &index, key) < 0)
            return -1;
        if (strcmp(key, "owner") == 0) {
            if (ei_decode_pid(reply->buff, &index, owner) < 0)
                return -1;
            have_owner = true;
        } else if (strcmp(key, "state") == 0) {
            if (ei_decode_atom(reply->buff, &index, atom) < 0)
                return -1;
            pending = strcmp(atom, "pending") == 0;
        } else if (ei_skip_term(reply->buff, &index) < 0) {
            return -1;
        }
    }
    return pending && have_owner ? 1 : 0;
}

struct setup_query {
    const char *peer;
    erlang_pid owner;
};

static int decode_node_info(const struct erlang_node *node, const ei_x_buff *reply, void *out,
                            char *err, size_t errlen)
{
    struct setup_query *q = out;
    int pending = pending_setup_owner(reply, &q->owner);
    if (pending < 0)
        snprintf(err, errlen, "net_kernel:node_info(%s) on %s answered something unexpected",
                 q->peer, node->target);
    return pending;
}

/* Any answer: erlang:exit/2 says true. */
static int decode_any(const struct erlang_node *node, const ei_x_buff *reply, void *out,
                      char *err, size_t errlen)
{
    (void)node, (void)reply, (void)out, (void)err, (void)errlen;
    return 0;
}

int erlang_node_abort_setup(struct erlang_node *node, const char *peer, unsigned timeout_ms,
                            char *err, size_t errlen)
{
    /* net_kernel:node_info(Peer) */
    struct setup_query q = {.peer = peer};
    int pending = rpc_exchange(node, "net_kernel", "node_info", encode_atom_arg, peer,
                               decode_node_info, &q, timeout_ms, err, errlen);
    if (pending <= 0)
        return pending;
    /* erlang:exit(Owner, kill): net_kernel sees its set-up process die and forgets the
     * attempt, so the next connect_node starts afresh. */
    int killed = rpc_exchange(node, "erlang", "exit", encode_kill, &q.owner, decode_any, NULL,
                              timeout_ms, err, errlen);
    return killed != 0 ? killed : 1;
}
