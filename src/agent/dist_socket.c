#include "agent/dist_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct dist_connection {
    int fd;
    SSL_CTX *ctx;            /* TLS only */
    SSL *ssl;                /* NULL: clear text */
    bool handshake_done;     /* ei finished the distribution handshake: stop watching it */
    bool sent_challenge_reply;
    bool ended;              /* end of stream or an error seen */
    struct dist_socket_setup *setup;
    struct dist_connection *next;
};

void dist_socket_setup_init(struct dist_socket_setup *setup, const struct tls_identity *tls)
{
    memset(setup, 0, sizeof *setup);
    setup->tls = tls;
}

static void set_error(struct dist_socket_setup *setup, const char *what)
{
    unsigned long code = ERR_get_error();
    if (code != 0) {
        char detail[160];
        ERR_error_string_n(code, detail, sizeof detail);
        snprintf(setup->error, sizeof setup->error, "%s: %s", what, detail);
    } else {
        snprintf(setup->error, sizeof setup->error, "%s", what);
    }
    ERR_clear_error();
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

/* The deadline for a call with timeout tmo; -1: none. */
static long long deadline_of(unsigned tmo)
{
    return tmo == EI_SCLBK_INF_TMO ? -1 : now_ms() + tmo;
}

static int wait_fd(int fd, short events, long long deadline)
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

/* After an SSL call returned ret <= 0: wait for what it needs and return 0 to retry, or an
 * errno for ei. Sets *closed for an orderly or abrupt end of the stream. */
static int ssl_wait(struct dist_connection *c, int ret, long long deadline, bool *closed)
{
    int code = SSL_get_error(c->ssl, ret);
    switch (code) {
    case SSL_ERROR_WANT_READ:
        return wait_fd(c->fd, POLLIN, deadline);
    case SSL_ERROR_WANT_WRITE:
        return wait_fd(c->fd, POLLOUT, deadline);
    case SSL_ERROR_ZERO_RETURN:
        *closed = true;
        return 0;
    case SSL_ERROR_SYSCALL:
        if (errno != 0 && ERR_peek_error() == 0)
            return errno;
        *closed = true;
        ERR_clear_error();
        return 0;
    default:
        if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            *closed = true;
            ERR_clear_error();
            return 0;
        }
        /* OpenSSL names a received alert SSL_AD_REASON_OFFSET + its code. TLS 1.3 sends the
         * server's verdict on our certificate after our side of the handshake is done, so
         * it arrives here, on the first read. */
        int reason = ERR_GET_REASON(ERR_peek_error());
        if (ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET &&
            reason < SSL_AD_REASON_OFFSET + 256)
            set_error(c->setup, "TLS: the node refused the connection (our certificate?)");
        else
            set_error(c->setup, "TLS error on the connection to the node");
        c->setup->refusal = DIST_REFUSED_TLS;
        return EPROTO;
    }
}

/* --- TLS: the identity as it is now, and the node's certificate ----------------------------- */

/* The context of one connection: the identity as read now (it may have been rotated). */
static SSL_CTX *new_context(struct dist_socket_setup *setup)
{
    const struct tls_identity *id = setup->tls;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        set_error(setup, "TLS: cannot create a context");
        return NULL;
    }
    char what[sizeof setup->error];
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        snprintf(what, sizeof what, "TLS: cannot require TLS 1.2 or later");
    } else if (SSL_CTX_use_certificate_chain_file(ctx, id->certfile) != 1) {
        snprintf(what, sizeof what, "TLS: cannot use the certificate %s", id->certfile);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, id->keyfile, SSL_FILETYPE_PEM) != 1) {
        snprintf(what, sizeof what, "TLS: cannot use the key %s", id->keyfile);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(what, sizeof what, "TLS: the key %s is not the certificate's (read mid-rotation?)",
                 id->keyfile);
    } else if (SSL_CTX_load_verify_locations(ctx, id->cafile, NULL) != 1) {
        snprintf(what, sizeof what, "TLS: cannot read the CA file %s", id->cafile);
    } else if (X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN) !=
               1) {
        /* The CA file holds our own issuer, on Diego an intermediate: an anchor as it is. */
        snprintf(what, sizeof what, "TLS: cannot accept an intermediate CA as the anchor");
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        return ctx;
    }
    set_error(setup, what);
    SSL_CTX_free(ctx);
    return NULL;
}

static bool ou_is(const char *ou, size_t n, const char *prefix, const char *guid)
{
    size_t plen = strlen(prefix);
    return guid != NULL && n == plen + strlen(guid) && memcmp(ou, prefix, plen) == 0 &&
           strncasecmp(ou + plen, guid, n - plen) == 0;
}

/* One of the node's OUs is "app:<app_guid>" or an allowed "app:<g>" / "space:<g>"; with
 * neither configured, any certificate the CA issued will do. */
static bool has_allowed_ou(X509 *cert, const struct tls_identity *id)
{
    if (id->app_guid == NULL && id->allow_count == 0)
        return true;
    X509_NAME *name = X509_get_subject_name(cert);
    bool match = false;
    for (int i = -1;
         !match && (i = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, i)) >= 0;) {
        ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, value);
        if (n >= 0) {
            const char *ou = (const char *)utf8;
            match = ou_is(ou, (size_t)n, "app:", id->app_guid);
            for (size_t k = 0; !match && k < id->allow_count; k++)
                match = strlen(id->allow[k]) == (size_t)n &&
                        strncasecmp(ou, id->allow[k], (size_t)n) == 0;
        }
        OPENSSL_free(utf8);
    }
    return match;
}

/* The TLS handshake on a connected socket, and the node's certificate checked. */
static int tls_handshake(struct dist_connection *c, const struct sockaddr_in *sin,
                         long long deadline)
{
    struct dist_socket_setup *setup = c->setup;
    c->ctx = new_context(setup);
    if (c->ctx == NULL)
        return EACCES;
    c->ssl = SSL_new(c->ctx);
    /* The node's certificate must carry the address dialled as its IP SAN. */
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
        X509_VERIFY_PARAM_set1_ip(SSL_get0_param(c->ssl), (const unsigned char *)&sin->sin_addr,
                                  sizeof sin->sin_addr) != 1) {
        set_error(setup, "TLS: cannot set up the connection");
        return ENOMEM;
    }
    for (;;) {
        int ret = SSL_connect(c->ssl);
        if (ret == 1)
            break;
        long verify = SSL_get_verify_result(c->ssl);
        if (verify != X509_V_OK) {
            char ip[INET_ADDRSTRLEN] = "?";
            inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
            snprintf(setup->error, sizeof setup->error,
                     "TLS: the node at %s presented a certificate we do not accept: %s", ip,
                     X509_verify_cert_error_string(verify));
            ERR_clear_error();
            setup->refusal = DIST_REFUSED_TLS;
            return EPROTO;
        }
        bool closed = false;
        int rc = ssl_wait(c, ret, deadline, &closed);
        if (closed) {
            snprintf(setup->error, sizeof setup->error,
                     "TLS: the node closed the handshake (it refused our certificate?)");
            setup->refusal = DIST_REFUSED_TLS;
            return ECONNRESET;
        }
        if (rc == EPROTO)
            set_error(setup, "TLS: handshake with the node failed");
        if (rc != 0)
            return rc;
    }
    X509 *peer = SSL_get1_peer_certificate(c->ssl);
    bool ok = peer != NULL && has_allowed_ou(peer, setup->tls);
    X509_free(peer);
    if (!ok) {
        snprintf(setup->error, sizeof setup->error,
                 "TLS: the node's certificate is not one of app %s%s",
                 setup->tls->app_guid ? setup->tls->app_guid : "?",
                 setup->tls->allow_count > 0 ? " nor of an allowed app or space" : "");
        setup->refusal = DIST_REFUSED_TLS;
        return EPROTO;
    }
    return 0;
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
    c->setup = setup;
    c->next = setup->live;
    setup->live = c;
    setup->error[0] = '\0';
    setup->refusal = DIST_REFUSED_NOT;
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
    long long deadline = deadline_of(tmo);
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
            rc = wait_fd(c->fd, POLLOUT, deadline);
            if (rc == 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &rc, &sz) != 0)
                rc = errno;
        }
    }
    if (rc != 0 || c->setup->tls == NULL)
        return rc;
    return tls_handshake(c, sin, deadline);
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
    long long deadline = deadline_of(tmo);
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
            rc = ssl_wait(c, ret, deadline, &closed);
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
                rc = wait_fd(c->fd, POLLOUT, deadline);
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
    long long deadline = deadline_of(tmo);
    for (;;) {
        int rc;
        if (c->ssl != NULL) {
            size_t got = 0;
            int ret = SSL_read_ex(c->ssl, buf, (size_t)*len, &got);
            if (ret == 1) {
                *len = (ssize_t)got;
                return 0;
            }
            bool closed = false;
            rc = ssl_wait(c, ret, deadline, &closed);
            if (closed) {
                note_end(c);
                *len = 0; /* ei's "connection closed" */
                return 0;
            }
        } else {
            ssize_t n = recv(c->fd, buf, (size_t)*len, 0);
            if (n > 0) {
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
                rc = wait_fd(c->fd, POLLIN, deadline);
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
