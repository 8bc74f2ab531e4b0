#include "agent/tls_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

struct tls_connection {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    struct tls_socket_setup *setup;
    struct tls_connection *next;
};

static void set_error(struct tls_socket_setup *setup, const char *what)
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

static char *copy(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

int tls_socket_setup_init(struct tls_socket_setup *setup, const char *certfile,
                          const char *keyfile, const char *cafile, const char *app_guid,
                          char *err, size_t errlen)
{
    memset(setup, 0, sizeof *setup);
    if (certfile == NULL || keyfile == NULL || cafile == NULL) {
        snprintf(err, errlen, "TLS: the certificate, key and CA file paths are all needed");
        return -1;
    }
    setup->certfile = copy(certfile);
    setup->keyfile = copy(keyfile);
    setup->cafile = copy(cafile);
    setup->app_guid = copy(app_guid);
    if (setup->certfile == NULL || setup->keyfile == NULL || setup->cafile == NULL ||
        (app_guid != NULL && setup->app_guid == NULL)) {
        tls_socket_setup_free(setup);
        snprintf(err, errlen, "TLS: out of memory");
        return -1;
    }
    return 0;
}

void tls_socket_setup_free(struct tls_socket_setup *setup)
{
    free(setup->certfile);
    free(setup->keyfile);
    free(setup->cafile);
    free(setup->app_guid);
    memset(setup, 0, sizeof *setup);
}

const char *tls_socket_error(const struct tls_socket_setup *setup)
{
    return setup->error;
}

bool tls_socket_pending(const struct tls_socket_setup *setup, int fd)
{
    for (const struct tls_connection *c = setup->live; c != NULL; c = c->next)
        if (c->fd == fd)
            return c->ssl != NULL && SSL_pending(c->ssl) > 0;
    return false;
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
        if (r == 0)
            return ETIMEDOUT;
        if (errno != EINTR)
            return errno;
    }
}

/* After an SSL call returned ret <= 0: wait for what it needs and return 0 to retry, or an
 * errno for ei. Sets *closed for an orderly or abrupt end of the stream. */
static int ssl_wait(struct tls_connection *c, int ret, long long deadline, bool *closed)
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
        /* OpenSSL names a received alert SSL_AD_REASON_OFFSET + its code. */
        int reason = ERR_GET_REASON(ERR_peek_error());
        if (ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET &&
            reason < SSL_AD_REASON_OFFSET + 256)
            set_error(c->setup, "TLS: the node refused the connection (our certificate?)");
        else
            set_error(c->setup, "TLS error on the connection to the node");
        return EPROTO;
    }
}

/* --- The callbacks ---------------------------------------------------------------------------- */

static int cb_socket(void **ctx, void *setup_ctx)
{
    struct tls_socket_setup *setup = setup_ctx;
    struct tls_connection *c = calloc(1, sizeof *c);
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
    *ctx = c;
    return 0;
}

static int cb_close(void *ctx)
{
    struct tls_connection *c = ctx;
    for (struct tls_connection **p = &c->setup->live; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    if (c->ssl != NULL) {
        /* A close_notify if it can go at once; the node treats a plain close the same. */
        if (SSL_is_init_finished(c->ssl))
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

/* The context of one connection: the identity as read now (it may have been rotated). */
static SSL_CTX *new_context(struct tls_socket_setup *setup)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        set_error(setup, "TLS: cannot create a context");
        return NULL;
    }
    char what[sizeof setup->error];
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        snprintf(what, sizeof what, "TLS: cannot require TLS 1.2 or later");
    } else if (SSL_CTX_use_certificate_chain_file(ctx, setup->certfile) != 1) {
        snprintf(what, sizeof what, "TLS: cannot use the certificate %s", setup->certfile);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, setup->keyfile, SSL_FILETYPE_PEM) != 1) {
        snprintf(what, sizeof what, "TLS: cannot use the key %s", setup->keyfile);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(what, sizeof what, "TLS: the key %s is not the certificate's (read mid-rotation?)",
                 setup->keyfile);
    } else if (SSL_CTX_load_verify_locations(ctx, setup->cafile, NULL) != 1) {
        snprintf(what, sizeof what, "TLS: cannot read the CA file %s", setup->cafile);
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

/* The node's certificate names this app in an OU "app:<guid>". */
static bool has_app_ou(X509 *cert, const char *guid)
{
    char want[128];
    snprintf(want, sizeof want, "app:%s", guid);
    X509_NAME *name = X509_get_subject_name(cert);
    for (int i = -1; (i = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, i)) >= 0;) {
        ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, value);
        bool match = n >= 0 && (size_t)n == strlen(want) && memcmp(utf8, want, (size_t)n) == 0;
        OPENSSL_free(utf8);
        if (match)
            return true;
    }
    return false;
}

static int tcp_connect(struct tls_connection *c, const struct sockaddr *addr, socklen_t len,
                       long long deadline)
{
    if (connect(c->fd, addr, len) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return errno;
    int rc = wait_fd(c->fd, POLLOUT, deadline);
    socklen_t sz = sizeof rc;
    if (rc == 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &rc, &sz) != 0)
        rc = errno;
    return rc;
}

static int cb_connect(void *ctx, void *addr, int len, unsigned tmo)
{
    struct tls_connection *c = ctx;
    struct tls_socket_setup *setup = c->setup;
    long long deadline = deadline_of(tmo);
    const struct sockaddr_in *sin = addr;
    if (sin->sin_family != AF_INET || len < (int)sizeof *sin) {
        snprintf(setup->error, sizeof setup->error, "TLS: only IPv4 node addresses are supported");
        return EAFNOSUPPORT;
    }
    int rc = tcp_connect(c, addr, (socklen_t)len, deadline);
    if (rc != 0)
        return rc;

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
            return EPROTO;
        }
        bool closed = false;
        rc = ssl_wait(c, ret, deadline, &closed);
        if (closed) {
            snprintf(setup->error, sizeof setup->error,
                     "TLS: the node closed the handshake (it refused our certificate?)");
            return ECONNRESET;
        }
        if (rc == EPROTO)
            set_error(setup, "TLS: handshake with the node failed");
        if (rc != 0)
            return rc;
    }
    if (setup->app_guid != NULL) {
        X509 *peer = SSL_get1_peer_certificate(c->ssl);
        bool ok = peer != NULL && has_app_ou(peer, setup->app_guid);
        X509_free(peer);
        if (!ok) {
            snprintf(setup->error, sizeof setup->error,
                     "TLS: the node's certificate is not one of app %s", setup->app_guid);
            return EPROTO;
        }
    }
    return 0;
}

static int cb_write(void *ctx, const char *buf, ssize_t *len, unsigned tmo)
{
    struct tls_connection *c = ctx;
    long long deadline = deadline_of(tmo);
    for (;;) {
        size_t written = 0;
        int ret = SSL_write_ex(c->ssl, buf, (size_t)*len, &written);
        if (ret == 1) {
            *len = (ssize_t)written;
            return 0;
        }
        bool closed = false;
        int rc = ssl_wait(c, ret, deadline, &closed);
        if (closed)
            return EPIPE;
        if (rc != 0)
            return rc;
    }
}

static int cb_read(void *ctx, char *buf, ssize_t *len, unsigned tmo)
{
    struct tls_connection *c = ctx;
    long long deadline = deadline_of(tmo);
    for (;;) {
        size_t got = 0;
        int ret = SSL_read_ex(c->ssl, buf, (size_t)*len, &got);
        if (ret == 1) {
            *len = (ssize_t)got;
            return 0;
        }
        bool closed = false;
        int rc = ssl_wait(c, ret, deadline, &closed);
        if (closed) {
            *len = 0; /* ei's "connection closed" */
            return 0;
        }
        if (rc != 0)
            return rc;
    }
}

static int cb_packet_header_size(void *ctx, int *sz)
{
    (void)ctx;
    /* inet_tls_dist runs the distribution handshake with {packet, 4} (OTP 25's
     * inet_tls_dist.erl), where inet_tcp_dist uses 2. */
    *sz = 4;
    return 0;
}

static int cb_handshake_complete(void *ctx)
{
    (void)ctx;
    return 0;
}

static int cb_get_fd(void *ctx, int *fd)
{
    struct tls_connection *c = ctx;
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

int tls_socket_xinit(ei_cnode *ec, const char *host, const char *alive, const char *full,
                     const char *cookie, unsigned creation, struct tls_socket_setup *setup)
{
    return ei_connect_xinit_ussi(ec, host, alive, full, NULL, cookie, creation, &callbacks,
                                 sizeof callbacks, setup);
}
