/* Probing a peer with our own cookie.
 * net_kernel:connect_node/1 on the app node only says false, and ei reports every failed
 * connection as EIO. To tell "the peer refused our cookie" from "nobody there", the probe's
 * socket callbacks watch the handshake: the peer closing the connection right after our
 * challenge reply (the packet that proves the cookie) is the refusal of a different cookie. */
#include "agent/erlang_node.h"
#include "agent/erlang_node_private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
             code == EIO ? "connection refused or closed" : erlang_node_error_text(code));
    return PEER_PROBE_UNREACHABLE;
}
