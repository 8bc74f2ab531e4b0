#include "agent/dist_socket.h"
#include "agent/dist_socket_private.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void dist_socket_setup_init(struct dist_socket_setup *setup, const struct tls_identity *tls)
{
    memset(setup, 0, sizeof *setup);
    setup->tls = tls;
}

const char *dist_socket_error(const struct dist_socket_setup *setup)
{
    return setup->error;
}

static struct dist_connection *live_connection(const struct dist_socket_setup *setup, int fd)
{
    for (struct dist_connection *c = setup->live; c != NULL; c = c->next)
        if (c->fd == fd)
            return c;
    return NULL;
}

bool dist_socket_pending(const struct dist_socket_setup *setup, int fd)
{
    const struct dist_connection *c = live_connection(setup, fd);
    return c != NULL && c->ssl != NULL && SSL_pending(c->ssl) > 0;
}

bool dist_socket_closed(const struct dist_socket_setup *setup, int fd)
{
    const struct dist_connection *c = live_connection(setup, fd);
    if (c != NULL && c->ended)
        return true;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return false;
    return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}

/* --- Waiting, bounded by ei's timeout ------------------------------------------------------ */

static long long now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0; /* cannot happen with CLOCK_MONOTONIC; waits would then end early */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long dist_socket_deadline(unsigned tmo)
{
    return tmo == EI_SCLBK_INF_TMO ? -1 : now_ms() + tmo;
}

int dist_socket_wait_fd(int fd, short events, long long deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    for (;;) {
        long long left = deadline < 0 ? -1 : deadline - now_ms();
        if (deadline >= 0 && left < 0)
            left = 0;
        int r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
        if (r > 0)
            return 0;
        if (r == 0 && (deadline < 0 || now_ms() < deadline))
            continue; /* a wait longer than poll's cap */
        if (r == 0)
            return ETIMEDOUT;
        if (errno != EINTR)
            return errno;
    }
}

/* --- The callbacks ---------------------------------------------------------------------------- */

static int cb_socket(void **ctx, void *setup_ctx)
{
    struct dist_socket_setup *setup = setup_ctx;
    struct dist_connection *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ENOMEM;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        int rc = errno;
        free(c);
        return rc;
    }
    /* No Nagle: an rpc is a few small writes, and each would otherwise wait for the
     * node's delayed ACK (40 ms) before the next goes out. */
    int one = 1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        int rc = errno;
        close(c->fd);
        free(c);
        return rc;
    }
    c->setup = setup;
    c->next = setup->live;
    setup->live = c;
    setup->error[0] = '\0';
    setup->refusal = DIST_REFUSED_NOT;
    setup->reached = false;
    setup->peer_name[0] = '\0';
    *ctx = c;
    return 0;
}

static int cb_close(void *ctx)
{
    struct dist_connection *c = ctx;
    for (struct dist_connection **p = &c->setup->live; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    if (c->ssl != NULL) {
        /* A close_notify if it can go at once; the node treats a plain close the same. */
        if (SSL_is_init_finished(c->ssl) && !c->ended)
            (void)SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    ERR_clear_error();
    int rc = close(c->fd) != 0 ? errno : 0;
    free(c);
    return rc;
}

static int cb_unsupported_listen(void *ctx, void *addr, int *len, int backlog)
{
    (void)ctx, (void)addr, (void)len, (void)backlog;
    return EOPNOTSUPP;
}

static int cb_unsupported_accept(void **ctx, void *addr, int *len, unsigned tmo)
{
    (void)ctx, (void)addr, (void)len, (void)tmo;
    return EOPNOTSUPP;
}

static int cb_connect(void *ctx, void *addr, int len, unsigned tmo)
{
    struct dist_connection *c = ctx;
    long long deadline = dist_socket_deadline(tmo);
    const struct sockaddr_in *sin = addr;
    if (sin->sin_family != AF_INET || len < (int)sizeof *sin) {
        snprintf(c->setup->error, sizeof c->setup->error, "only IPv4 node addresses are supported");
        return EAFNOSUPPORT;
    }
    int rc = 0;
    if (connect(c->fd, addr, (socklen_t)len) != 0) {
        rc = errno;
        if (rc == EINPROGRESS) {
            socklen_t sz = sizeof rc;
            rc = dist_socket_wait_fd(c->fd, POLLOUT, deadline);
            if (rc == 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &rc, &sz) != 0)
                rc = errno;
        }
    }
    if (rc != 0)
        return rc;
    c->setup->reached = true;
    if (c->setup->tls == NULL)
        return 0;
    return dist_tls_handshake(c, sin, deadline);
}

/* The peer ended the stream: after our challenge reply, that is its verdict on our cookie. */
static void note_end(struct dist_connection *c)
{
    c->ended = true;
    if (c->sent_challenge_reply && !c->handshake_done)
        c->setup->refusal = DIST_REFUSED_COOKIE;
}

static size_t header_size(const struct dist_connection *c)
{
    /* inet_tls_dist runs the distribution handshake with {packet, 4} (OTP 25's
     * inet_tls_dist.erl), where inet_tcp_dist uses 2. */
    return c->setup->tls != NULL ? 4 : 2;
}

static int cb_write(void *ctx, const char *buf, ssize_t *len, unsigned tmo)
{
    struct dist_connection *c = ctx;
    long long deadline = dist_socket_deadline(tmo);
    /* A handshake packet: its length, then its tag; 'r' is the challenge reply. */
    bool reply = !c->handshake_done && (size_t)*len > header_size(c) && buf[header_size(c)] == 'r';
    size_t written = 0;
    for (;;) {
        int rc;
        if (c->ssl != NULL) {
            int ret = SSL_write_ex(c->ssl, buf, (size_t)*len, &written);
            if (ret == 1)
                break;
            bool closed = false;
            rc = dist_tls_wait(c, ret, deadline, &closed);
            if (closed) {
                note_end(c);
                return EPIPE;
            }
        } else {
            ssize_t n = send(c->fd, buf, (size_t)*len, MSG_NOSIGNAL);
            if (n >= 0) {
                written = (size_t)n;
                break;
            }
            rc = errno;
            if (rc == EAGAIN || rc == EWOULDBLOCK)
                rc = dist_socket_wait_fd(c->fd, POLLOUT, deadline);
            else if (rc == EINTR)
                rc = 0;
        }
        if (rc != 0) {
            if (rc != ETIMEDOUT)
                c->ended = true;
            return rc;
        }
    }
    c->sent_challenge_reply |= reply;
    *len = (ssize_t)written;
    return 0;
}

static int cb_read(void *ctx, char *buf, ssize_t *len, unsigned tmo)
{
    struct dist_connection *c = ctx;
    long long deadline = dist_socket_deadline(tmo);
    for (;;) {
        int rc;
        if (c->ssl != NULL) {
            size_t got = 0;
            int ret = SSL_read_ex(c->ssl, buf, (size_t)*len, &got);
            if (ret == 1) {
                dist_handshake_watch(c, buf, got);
                *len = (ssize_t)got;
                return 0;
            }
            bool closed = false;
            rc = dist_tls_wait(c, ret, deadline, &closed);
            if (closed) {
                note_end(c);
                *len = 0; /* ei's "connection closed" */
                return 0;
            }
        } else {
            ssize_t n = recv(c->fd, buf, (size_t)*len, 0);
            if (n > 0) {
                dist_handshake_watch(c, buf, (size_t)n);
                *len = n;
                return 0;
            }
            if (n == 0) {
                note_end(c);
                *len = 0;
                return 0;
            }
            rc = errno;
            if (rc == EAGAIN || rc == EWOULDBLOCK)
                rc = dist_socket_wait_fd(c->fd, POLLIN, deadline);
            else if (rc == EINTR)
                rc = 0;
        }
        if (rc == ECONNRESET)
            note_end(c);
        else if (rc != 0 && rc != ETIMEDOUT)
            c->ended = true;
        if (rc != 0)
            return rc;
    }
}

static int cb_packet_header_size(void *ctx, int *sz)
{
    *sz = (int)header_size(ctx);
    return 0;
}

static int cb_handshake_complete(void *ctx)
{
    struct dist_connection *c = ctx;
    c->handshake_done = true;
    return 0;
}

static int cb_get_fd(void *ctx, int *fd)
{
    struct dist_connection *c = ctx;
    *fd = c->fd;
    return 0;
}

static ei_socket_callbacks callbacks = {
    .flags = EI_SCLBK_FLG_FULL_IMPL,
    .socket = cb_socket,
    .close = cb_close,
    .listen = cb_unsupported_listen,
    .EI_ACCEPT_NAME = cb_unsupported_accept,
    .connect = cb_connect,
    .write = cb_write,
    .read = cb_read,
    .handshake_packet_header_size = cb_packet_header_size,
    .connect_handshake_complete = cb_handshake_complete,
    .accept_handshake_complete = cb_handshake_complete,
    .get_fd = cb_get_fd,
};

int dist_socket_xinit(ei_cnode *ec, const char *host, const char *alive, const char *full,
                      const char *cookie, unsigned creation, struct dist_socket_setup *setup)
{
    return ei_connect_xinit_ussi(ec, host, alive, full, NULL, cookie, creation, &callbacks,
                                 sizeof callbacks, setup);
}
