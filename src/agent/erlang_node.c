#include "agent/erlang_node.h"
#include "common/clock.h"
#include "common/secret.h"

#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int erlang_node_init(struct erlang_node *node, const char *target, int port, bool epmd,
                     const char *cookie, char *err, size_t errlen)
{
    memset(node, 0, sizeof *node);
    node->fd = -1;
    node->stop_fd = -1;
    const char *at = strchr(target, '@');
    if (!at || at[1] == '\0') {
        snprintf(err, errlen, "app node name %s has no host part (need base@host)", target);
        return -1;
    }
    if (!cookie || !*cookie) {
        snprintf(err, errlen, "no Erlang cookie");
        return -1;
    }
    if (strlen(cookie) >= MAXATOMLEN) {
        snprintf(err, errlen, "Erlang cookie longer than %d bytes", MAXATOMLEN - 1);
        return -1;
    }
    node->target = strdup(target);
    node->host = strdup(at + 1);
    node->cookie = strdup(cookie);
    node->port = port;
    node->epmd = epmd;
    if (!node->target || !node->host || !node->cookie) {
        snprintf(err, errlen, "out of memory");
        erlang_node_free(node);
        return -1;
    }
    if (ei_init() != 0) {
        snprintf(err, errlen, "erl_interface initialisation failed");
        erlang_node_free(node);
        return -1;
    }
    return 0;
}

void erlang_node_free(struct erlang_node *node)
{
    erlang_node_disconnect(node);
    free(node->target);
    free(node->host);
    secret_free(node->cookie);
    explicit_bzero(&node->cnode, sizeof node->cnode);
    node->target = node->host = node->cookie = NULL;
}

bool erlang_node_connected(const struct erlang_node *node)
{
    return node->fd >= 0;
}

void erlang_node_disconnect(struct erlang_node *node)
{
    if (node->fd >= 0) {
        ei_close_connection(node->fd);
        node->fd = -1;
    }
}

static const char *ei_error_text(int code)
{
    switch (code) {
    case EIO: return "connection closed or handshake refused (wrong cookie?)";
    case ETIMEDOUT: return "timed out";
    case EHOSTUNREACH: return "host unreachable or node not running";
    case ECONNREFUSED: return "connection refused (node not listening yet)";
    case ENOMEM: return "out of memory";
    default: return code ? strerror(code) : "unknown error";
    }
}

int erlang_node_connect(struct erlang_node *node, unsigned timeout_ms, char *err, size_t errlen)
{
    if (node->fd >= 0)
        return 0;
    /* A fresh name per connection: the node may not have noticed the last one is gone. */
    uint32_t nonce = 0;
    if (getrandom(&nonce, sizeof nonce, GRND_NONBLOCK) != (ssize_t)sizeof nonce)
        nonce = (uint32_t)monotonic_ms();
    char alive[64], full[MAXNODELEN];
    snprintf(alive, sizeof alive, "erlang-cluster-agent-%ld-%u-%08x", (long)getpid(),
             ++node->connects, nonce);
    snprintf(full, sizeof full, "%s@%s", alive, node->host);
    if (ei_connect_xinit(&node->cnode, node->host, alive, full, NULL, node->cookie,
                         (unsigned)(nonce | 1u)) < 0) {
        snprintf(err, errlen, "cannot set up C node %s: %s", full, ei_error_text(erl_errno));
        return -1;
    }
    int fd;
    if (node->epmd)
        fd = ei_connect_tmo(&node->cnode, node->target, timeout_ms);
    else
        fd = ei_connect_host_port_tmo(&node->cnode, node->host, node->port, timeout_ms);
    if (fd < 0) {
        int code = erl_errno;
        const char *why = code == EIO ? "handshake refused (wrong cookie, or not an Erlang node)"
                                      : ei_error_text(code);
        if (node->epmd)
            snprintf(err, errlen, "cannot connect to app node %s via epmd: %s", node->target, why);
        else
            snprintf(err, errlen, "cannot connect to app node %s on port %d: %s", node->target,
                     node->port, why);
        return code == ETIMEDOUT ? ERLANG_NODE_SLOW : -1;
    }
    node->fd = fd;
    return 0;
}

/* ei reports both a closed connection and a control message it does not handle (a
 * monitor from the node, say) as EIO, having consumed the whole message in the second case.
 * Peeking at the socket tells the two apart. */
static bool connection_closed(int fd)
{
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return false;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    return true;
}

/* Waits up to left_ms for input on the connection. Returns 1 when there is some, 0 when there
 * is none yet, ERLANG_NODE_STOPPED when the stop fd became readable first, -1 on error. */
static int wait_for_input(const struct erlang_node *node, int64_t left_ms)
{
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
static int rpc_call(struct erlang_node *node, const char *mod, const char *fun,
                    const ei_x_buff *args, ei_x_buff *reply, unsigned timeout_ms, char *err,
                    size_t errlen)
{
    if (node->fd < 0) {
        snprintf(err, errlen, "not connected to app node %s", node->target);
        return -1;
    }
    if (ei_rpc_to(&node->cnode, node->fd, (char *)mod, (char *)fun, args->buff, args->index) < 0) {
        snprintf(err, errlen, "rpc %s:%s to %s failed to send: %s", mod, fun, node->target,
                 ei_error_text(erl_errno));
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
        if (r < 0 && erl_errno == EIO && !connection_closed(node->fd))
            continue; /* a message ei does not handle: skipped */
        if (r < 0) {
            snprintf(err, errlen, "rpc %s:%s to %s: connection lost: %s", mod, fun, node->target,
                     ei_error_text(erl_errno));
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

/* The argument and reply buffers of one rpc; both or neither are allocated. */
static int rpc_buffers_new(ei_x_buff *args, ei_x_buff *reply, char *err, size_t errlen)
{
    if (ei_x_new(args) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (ei_x_new(reply) < 0) {
        ei_x_free(args);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int erlang_node_list(struct erlang_node *node, struct strlist *out, unsigned timeout_ms,
                     char *err, size_t errlen)
{
    ei_x_buff args, reply;
    if (rpc_buffers_new(&args, &reply, err, errlen) != 0)
        return -1;
    int rc = -1;
    if (ei_x_encode_empty_list(&args) < 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    int called = rpc_call(node, "erlang", "nodes", &args, &reply, timeout_ms, err, errlen);
    if (called != 0) {
        rc = called;
        goto done;
    }
    int index = 0, count;
    if (ei_decode_list_header(reply.buff, &index, &count) < 0) {
        snprintf(err, errlen, "erlang:nodes() on %s answered something other than a list",
                 node->target);
        goto done;
    }
    for (int i = 0; i < count; i++) {
        char name[MAXATOMLEN_UTF8];
        if (ei_decode_atom(reply.buff, &index, name) < 0) {
            snprintf(err, errlen, "erlang:nodes() on %s answered a non-atom", node->target);
            goto done;
        }
        if (strlist_add(out, name) != 0) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
    }
    rc = 0;
done:
    ei_x_free(&args);
    ei_x_free(&reply);
    if (rc != 0)
        erlang_node_disconnect(node); /* the header's promise: no half-used connection */
    return rc;
}

int erlang_node_connect_peer(struct erlang_node *node, const char *peer, unsigned timeout_ms,
                             char *err, size_t errlen)
{
    ei_x_buff args, reply;
    if (rpc_buffers_new(&args, &reply, err, errlen) != 0)
        return -1;
    int rc = -1;
    /* erlang:spawn(net_kernel, connect_node, [Peer]) */
    if (ei_x_encode_list_header(&args, 3) < 0 || ei_x_encode_atom(&args, "net_kernel") < 0 ||
        ei_x_encode_atom(&args, "connect_node") < 0 || ei_x_encode_list_header(&args, 1) < 0 ||
        ei_x_encode_atom(&args, peer) < 0 || ei_x_encode_empty_list(&args) < 0 ||
        ei_x_encode_empty_list(&args) < 0) {
        snprintf(err, errlen, "cannot encode the connect request for %s", peer);
        goto done;
    }
    int called = rpc_call(node, "erlang", "spawn", &args, &reply, timeout_ms, err, errlen);
    if (called != 0) {
        rc = called;
        goto done;
    }
    int index = 0, type, size;
    if (ei_get_type(reply.buff, &index, &type, &size) < 0 ||
        (type != ERL_PID_EXT && type != ERL_NEW_PID_EXT)) {
        snprintf(err, errlen, "app node %s refused to start a connection to %s", node->target,
                 peer);
        goto done;
    }
    rc = 0;
done:
    ei_x_free(&args);
    ei_x_free(&reply);
    if (rc != 0)
        erlang_node_disconnect(node); /* the header's promise: no half-used connection */
    return rc;
}

int erlang_node_handle_input(struct erlang_node *node, char *err, size_t errlen)
{
    if (node->fd < 0) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    ei_x_buff buf;
    if (ei_x_new(&buf) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    erlang_msg msg;
    int r = ei_xreceive_msg_tmo(node->fd, &msg, &buf, 200);
    int code = erl_errno;
    ei_x_free(&buf);
    if (r == ERL_ERROR && code == EIO && !connection_closed(node->fd))
        return 0; /* a message ei does not handle: skipped */
    if (r == ERL_ERROR && code != ETIMEDOUT && code != EAGAIN) {
        snprintf(err, errlen, "connection to app node %s closed: %s", node->target,
                 ei_error_text(code));
        erlang_node_disconnect(node);
        return -1;
    }
    return 0;
}

char *erlang_read_cookie(const char *path, char *err, size_t errlen)
{
    char *data = NULL;
    if (fs_read_file(path, 4096, &data, NULL, err, errlen) != 0)
        return NULL;
    size_t n = strcspn(data, "\r\n");
    data[n] = '\0';
    while (n > 0 && (data[n - 1] == ' ' || data[n - 1] == '\t'))
        data[--n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "cookie file %s is empty", path);
        free(data);
        return NULL;
    }
    return data;
}

/* --- Probing a peer with our own cookie ---------------------------------------------------
 * net_kernel:connect_node/1 on the app node only says false, and ei reports every failed
 * connection as EIO. To tell "the peer refused our cookie" from "nobody there", the probe's
 * socket callbacks watch the handshake: the peer closing the connection right after our
 * challenge reply (the packet that proves the cookie) is the refusal of a different cookie. */

struct probe_socket {
    int fd;
    bool sent_challenge_reply; /* the 'r' packet went out */
    bool closed_after_reply;   /* and the peer then closed the connection */
};

static int wait_fd(int fd, short events, unsigned tmo)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int timeout = tmo == EI_SCLBK_INF_TMO ? -1 : (int)tmo;
    for (;;) {
        int r = poll(&pfd, 1, timeout);
        if (r > 0)
            return 0;
        if (r == 0)
            return ETIMEDOUT;
        if (errno != EINTR)
            return errno;
    }
}

static int probe_socket(void **ctx, void *setup_ctx)
{
    struct probe_socket *ps = setup_ctx;
    ps->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ps->fd < 0)
        return errno;
    *ctx = ps;
    return 0;
}

static int probe_close(void *ctx)
{
    struct probe_socket *ps = ctx;
    int rc = ps->fd >= 0 && close(ps->fd) != 0 ? errno : 0;
    ps->fd = -1;
    return rc;
}

static int probe_unsupported(void)
{
    return EOPNOTSUPP;
}

static int probe_listen(void *ctx, void *addr, int *len, int backlog)
{
    (void)ctx, (void)addr, (void)len, (void)backlog;
    return probe_unsupported();
}

static int probe_accept(void **ctx, void *addr, int *len, unsigned tmo)
{
    (void)ctx, (void)addr, (void)len, (void)tmo;
    return probe_unsupported();
}

static int probe_connect(void *ctx, void *addr, int len, unsigned tmo)
{
    struct probe_socket *ps = ctx;
    int flags = fcntl(ps->fd, F_GETFL);
    if (flags < 0 || fcntl(ps->fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return errno;
    int rc = 0;
    if (connect(ps->fd, addr, (socklen_t)len) != 0) {
        rc = errno;
        if (rc == EINPROGRESS) {
            socklen_t sz = sizeof rc;
            rc = wait_fd(ps->fd, POLLOUT, tmo);
            if (rc == 0 && getsockopt(ps->fd, SOL_SOCKET, SO_ERROR, &rc, &sz) != 0)
                rc = errno;
        }
    }
    if (fcntl(ps->fd, F_SETFL, flags) != 0 && rc == 0)
        rc = errno;
    return rc;
}

static int probe_write(void *ctx, const char *buf, ssize_t *len, unsigned tmo)
{
    struct probe_socket *ps = ctx;
    int rc = wait_fd(ps->fd, POLLOUT, tmo);
    if (rc != 0)
        return rc;
    ssize_t n = send(ps->fd, buf, (size_t)*len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0)
        return errno;
    /* A handshake packet: 2-byte length, then its tag. */
    if (n >= 3 && buf[2] == 'r')
        ps->sent_challenge_reply = true;
    *len = n;
    return 0;
}

static int probe_read(void *ctx, char *buf, ssize_t *len, unsigned tmo)
{
    struct probe_socket *ps = ctx;
    int rc = wait_fd(ps->fd, POLLIN, tmo);
    if (rc != 0)
        return rc;
    ssize_t n = recv(ps->fd, buf, (size_t)*len, MSG_DONTWAIT);
    if (n < 0)
        rc = errno;
    if ((n == 0 || rc == ECONNRESET) && ps->sent_challenge_reply)
        ps->closed_after_reply = true;
    if (n < 0)
        return rc;
    *len = n;
    return 0;
}

static int probe_packet_header_size(void *ctx, int *sz)
{
    (void)ctx;
    *sz = 2;
    return 0;
}

static int probe_handshake_complete(void *ctx)
{
    (void)ctx;
    return 0;
}

static int probe_get_fd(void *ctx, int *fd)
{
    struct probe_socket *ps = ctx;
    if (ps->fd < 0)
        return EBADF;
    *fd = ps->fd;
    return 0;
}

enum peer_probe erlang_node_probe_peer(struct erlang_node *node, const char *peer,
                                       unsigned timeout_ms, char *err, size_t errlen)
{
    const char *at = strchr(peer, '@');
    if (at == NULL || at[1] == '\0') {
        snprintf(err, errlen, "peer name %s has no host part", peer);
        return PEER_PROBE_UNREACHABLE;
    }
    static ei_socket_callbacks callbacks = {
        .flags = EI_SCLBK_FLG_FULL_IMPL,
        .socket = probe_socket,
        .close = probe_close,
        .listen = probe_listen,
        .EI_ACCEPT_NAME = probe_accept,
        .connect = probe_connect,
        .write = probe_write,
        .read = probe_read,
        .handshake_packet_header_size = probe_packet_header_size,
        .connect_handshake_complete = probe_handshake_complete,
        .accept_handshake_complete = probe_handshake_complete,
        .get_fd = probe_get_fd,
    };
    struct probe_socket ps = {.fd = -1};
    ei_cnode cnode;
    char alive[64], full[MAXNODELEN], host[EI_MAXHOSTNAMELEN + 1];
    snprintf(alive, sizeof alive, "erlang-cluster-agent-probe-%ld-%u", (long)getpid(),
             ++node->connects);
    snprintf(full, sizeof full, "%s@%s", alive, node->host);
    snprintf(host, sizeof host, "%s", at + 1);
    if (ei_connect_xinit_ussi(&cnode, node->host, alive, full, NULL, node->cookie,
                              node->connects | 1u, &callbacks, sizeof callbacks, &ps) < 0) {
        snprintf(err, errlen, "cannot set up a C node to probe %s", peer);
        return PEER_PROBE_UNREACHABLE;
    }
    int fd = node->epmd ? ei_connect_tmo(&cnode, (char *)peer, timeout_ms)
                        : ei_connect_host_port_tmo(&cnode, host, node->port, timeout_ms);
    int code = erl_errno;
    explicit_bzero(&cnode, sizeof cnode);
    if (fd >= 0) {
        ei_close_connection(fd);
        return PEER_PROBE_ACCEPTED;
    }
    if (ps.fd >= 0)
        probe_close(&ps);
    if (ps.closed_after_reply) {
        snprintf(err, errlen, "%s refused the handshake: a different cookie", peer);
        return PEER_PROBE_COOKIE_REFUSED;
    }
    snprintf(err, errlen, "%s did not answer a handshake: %s", peer,
             code == EIO ? "connection refused or closed" : ei_error_text(code));
    return PEER_PROBE_UNREACHABLE;
}
