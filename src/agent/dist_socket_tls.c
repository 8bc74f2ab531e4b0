/* The TLS side of the agent's distribution sockets (dist_socket.c): the instance identity as
 * it is now, the handshake, the node's certificate, and what OpenSSL's errors mean for ei. */
#include "agent/dist_socket.h"
#include "agent/dist_socket_private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

void dist_socket_set_error(struct dist_socket_setup *setup, const char *what)
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

/* After an SSL call returned ret <= 0: wait for what it needs and return 0 to retry, or an
 * errno for ei. Sets *closed for an orderly or abrupt end of the stream. */
int dist_tls_wait(struct dist_connection *c, int ret, long long deadline, bool *closed)
{
    int code = SSL_get_error(c->ssl, ret);
    switch (code) {
    case SSL_ERROR_WANT_READ:
        return dist_socket_wait_fd(c->fd, POLLIN, deadline);
    case SSL_ERROR_WANT_WRITE:
        return dist_socket_wait_fd(c->fd, POLLOUT, deadline);
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
            dist_socket_set_error(c->setup, "TLS: the node refused the connection (our certificate?)");
        else
            dist_socket_set_error(c->setup, "TLS error on the connection to the node");
        c->setup->refusal = DIST_REFUSED_TLS;
        return EPROTO;
    }
}

/* The context of one connection: the identity as read now (it may have been rotated). */
static SSL_CTX *new_context(struct dist_socket_setup *setup)
{
    const struct tls_identity *id = setup->tls;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        dist_socket_set_error(setup, "TLS: cannot create a context");
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
    dist_socket_set_error(setup, what);
    SSL_CTX_free(ctx);
    return NULL;
}

/* expected in lower case, as the node's optfile holds it (tls_options.c lowers the GUIDs). */
static bool ou_equals(const char *ou, size_t n, const char *prefix, const char *expected)
{
    size_t plen = strlen(prefix);
    if (expected == NULL || n != plen + strlen(expected) || memcmp(ou, prefix, plen) != 0)
        return false;
    for (size_t i = 0; i < n - plen; i++)
        if (ou[plen + i] != (char)tolower((unsigned char)expected[i]))
            return false;
    return true;
}

bool dist_tls_ou_allowed(const char *ou, size_t n, const struct tls_identity *id)
{
    if (id->app_guid == NULL)
        return false;
    if (ou_equals(ou, n, "app:", id->app_guid))
        return true;
    for (size_t k = 0; k < id->allow_count; k++)
        if (ou_equals(ou, n, "", id->allow[k]))
            return true;
    return false;
}

/* One of the node's OUs is one the identity accepts (dist_tls_ou_allowed). */
static bool has_allowed_ou(X509 *cert, const struct tls_identity *id)
{
    X509_NAME *name = X509_get_subject_name(cert);
    bool match = false;
    for (int i = -1;
         !match && (i = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, i)) >= 0;) {
        ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, value);
        if (n >= 0)
            match = dist_tls_ou_allowed((const char *)utf8, (size_t)n, id);
        OPENSSL_free(utf8);
    }
    return match;
}

/* The TLS handshake on a connected socket, and the node's certificate checked. */
int dist_tls_handshake(struct dist_connection *c, const struct sockaddr_in *sin,
                         long long deadline)
{
    struct dist_socket_setup *setup = c->setup;
    if (setup->tls->app_guid == NULL) {
        /* Without it no certificate can be told from another app's of the same CA. */
        snprintf(setup->error, sizeof setup->error,
                 "TLS: no app GUID in the identity, so no node certificate can be accepted");
        return EACCES;
    }
    c->ctx = new_context(setup);
    if (c->ctx == NULL)
        return EACCES;
    c->ssl = SSL_new(c->ctx);
    /* The node's certificate must carry the address dialled as its IP SAN. */
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
        X509_VERIFY_PARAM_set1_ip(SSL_get0_param(c->ssl), (const unsigned char *)&sin->sin_addr,
                                  sizeof sin->sin_addr) != 1) {
        dist_socket_set_error(setup, "TLS: cannot set up the connection");
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
        int rc = dist_tls_wait(c, ret, deadline, &closed);
        if (closed) {
            snprintf(setup->error, sizeof setup->error,
                     "TLS: the node closed the handshake (it refused our certificate?)");
            setup->refusal = DIST_REFUSED_TLS;
            return ECONNRESET;
        }
        if (rc == EPROTO)
            dist_socket_set_error(setup, "TLS: handshake with the node failed");
        if (rc != 0)
            return rc;
    }
    X509 *peer = SSL_get1_peer_certificate(c->ssl);
    bool ok = peer != NULL && has_allowed_ou(peer, setup->tls);
    X509_free(peer);
    if (!ok) {
        snprintf(setup->error, sizeof setup->error,
                 "TLS: the node's certificate is not one of app %s%s",
                 setup->tls->app_guid,
                 setup->tls->allow_count > 0 ? " nor of an allowed app or space" : "");
        setup->refusal = DIST_REFUSED_TLS;
        return EPROTO;
    }
    return 0;
}
