/* bench/prototypes/tls_relay.c: a throughput prototype of a TLS relay beside a BEAM node,
 * not product code. Clear-text distribution stays on loopback; between instances it is
 * OpenSSL TLS 1.3 with the instance identity (verify_peer, the CA file's certificate as a
 * partial-chain anchor, the peer's IP SAN, an allowed app OU), as src/launch/tls_options.c
 * renders it for ssl.
 *
 *   tls_relay --cert F --key F --ca F --ou app:GUID
 *             [--accept IP:PORT=IP:PORT]...   TLS in on the first, clear out to the second
 *             [--dial IP:PORT=IP:PORT]...     clear in on the first, TLS out to the second
 *
 * One thread per connection, both sockets non-blocking, 64 KB buffers each way: the thread
 * moves whatever either side has, then polls. All in one process, so /proc/PID/stat counts
 * the CPU of every connection (bench/tls-dist adds it to the VMs' CPU). No restart, no
 * rotation, no stop promise: see bench/lib/tls-analysis.md for what a product version needs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTENERS 64
#define BUF_SIZE 65536

struct listener {
    int fd;
    bool tls_in; /* accept: TLS in, clear out; dial: clear in, TLS out */
    struct sockaddr_in to;
};

struct conn {
    int clear_fd, tls_fd;
    bool tls_in;
    struct sockaddr_in to; /* where to connect */
    char peer_ip[INET_ADDRSTRLEN];
};

static SSL_CTX *server_ctx, *client_ctx;
static const char *allowed_ou;

static void die(const char *what)
{
    fprintf(stderr, "tls_relay: %s: %s\n", what, strerror(errno));
    ERR_print_errors_fp(stderr);
    exit(1);
}

static bool parse_addr(const char *text, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host)
        return false;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535)
        return false;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -1;
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* The identity checks beyond the chain: an allowed OU, and (server side) the client's IP SAN
 * is the address it connects from. The client side checks the IP SAN in the handshake
 * (X509_VERIFY_PARAM_set1_ip_asc). */
static bool peer_allowed(SSL *ssl, const char *peer_ip, bool check_ip)
{
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (cert == NULL)
        return false;
    bool ok = check_ip ? X509_check_ip_asc(cert, peer_ip, 0) == 1 : true;
    bool ou_ok = false;
    X509_NAME *subject = X509_get_subject_name(cert);
    for (int i = -1; ok && !ou_ok;) {
        i = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, i);
        if (i < 0)
            break;
        ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
        ou_ok = (size_t)ASN1_STRING_length(value) == strlen(allowed_ou) &&
                memcmp(ASN1_STRING_get0_data(value), allowed_ou, strlen(allowed_ou)) == 0;
    }
    X509_free(cert);
    return ok && ou_ok;
}

/* Moves bytes both ways until either side closes or fails. */
static void pump(int clear_fd, int tls_fd, SSL *ssl)
{
    static __thread char to_tls[BUF_SIZE], to_clear[BUF_SIZE];
    size_t tls_len = 0, tls_off = 0, clear_len = 0, clear_off = 0;
    bool tls_wants_write = false;
    for (;;) {
        bool progress = false;
        if (tls_len == 0) {
            ssize_t n = read(clear_fd, to_tls, sizeof to_tls);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                return;
            if (n > 0) {
                tls_len = (size_t)n;
                tls_off = 0;
                progress = true;
            }
        }
        if (tls_len > 0) {
            size_t written = 0;
            if (SSL_write_ex(ssl, to_tls + tls_off, tls_len - tls_off, &written) == 1) {
                tls_off += written;
                if (tls_off == tls_len)
                    tls_len = 0;
                tls_wants_write = false;
                progress = true;
            } else {
                int e = SSL_get_error(ssl, 0);
                if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
                    return;
                tls_wants_write = e == SSL_ERROR_WANT_WRITE;
            }
        }
        /* SSL_read returns one record (16 KB at most): gather what is there first, so that
         * the node gets few large writes. */
        for (clear_off = clear_len ? clear_off : 0; clear_off == 0 && clear_len < sizeof to_clear;) {
            size_t got = 0;
            if (SSL_read_ex(ssl, to_clear + clear_len, sizeof to_clear - clear_len, &got) != 1) {
                int e = SSL_get_error(ssl, 0);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                    return;
                break;
            }
            clear_len += got;
            progress = true;
        }
        if (clear_len > 0) {
            ssize_t n = write(clear_fd, to_clear + clear_off, clear_len - clear_off);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return;
            if (n > 0) {
                clear_off += (size_t)n;
                if (clear_off == clear_len)
                    clear_len = 0;
                progress = true;
            }
        }
        if (progress)
            continue;
        struct pollfd fds[2] = {
            {.fd = clear_fd, .events = (short)((tls_len == 0 ? POLLIN : 0) | (clear_len ? POLLOUT : 0))},
            {.fd = tls_fd, .events = (short)((clear_len == 0 ? POLLIN : 0) | (tls_wants_write ? POLLOUT : 0))},
        };
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            return;
    }
}

/* Blocking handshake on a non-blocking socket: poll for what OpenSSL waits for, 10 s at most. */
static bool handshake(SSL *ssl, int fd, bool server)
{
    for (int rounds = 0; rounds < 1000; rounds++) {
        int r = server ? SSL_accept(ssl) : SSL_connect(ssl);
        if (r == 1)
            return true;
        int e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return false;
        struct pollfd p = {.fd = fd, .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
        if (poll(&p, 1, 10000) <= 0)
            return false;
    }
    return false;
}

static void *serve(void *arg)
{
    struct conn *c = arg;
    int out_fd = socket(AF_INET, SOCK_STREAM, 0);
    SSL *ssl = NULL;
    if (out_fd < 0 || connect(out_fd, (struct sockaddr *)&c->to, sizeof c->to) < 0 ||
        set_nonblocking(out_fd) < 0 || set_nonblocking(c->clear_fd) < 0)
        goto done;
    if (c->tls_in) {
        c->tls_fd = c->clear_fd;
        c->clear_fd = out_fd;
    } else {
        c->tls_fd = out_fd;
        inet_ntop(AF_INET, &c->to.sin_addr, c->peer_ip, sizeof c->peer_ip);
    }
    out_fd = -1;
    ssl = SSL_new(c->tls_in ? server_ctx : client_ctx);
    if (ssl == NULL || SSL_set_fd(ssl, c->tls_fd) != 1)
        goto done;
    if (!c->tls_in && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), c->peer_ip) != 1)
        goto done;
    if (!handshake(ssl, c->tls_fd, c->tls_in) || !peer_allowed(ssl, c->peer_ip, c->tls_in)) {
        fprintf(stderr, "tls_relay: refused %s\n", c->peer_ip);
        ERR_print_errors_fp(stderr);
        goto done;
    }
    pump(c->clear_fd, c->tls_fd, ssl);
done:
    SSL_free(ssl);
    if (out_fd >= 0)
        close(out_fd);
    if (c->clear_fd >= 0)
        close(c->clear_fd);
    if (c->tls_fd >= 0)
        close(c->tls_fd);
    free(c);
    return NULL;
}

static SSL_CTX *context(bool server, const char *cert, const char *key, const char *ca)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
        die("TLS context");
    /* The CA file holds an intermediate (Diego's issuer), not a root. */
    X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Read whole socket buffers, not a record header and then its body. */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_default_read_buffer_len(ctx, BUF_SIZE);
    if (server)
        SSL_CTX_set_num_tickets(ctx, 0); /* no resumption: every connection is checked */
    return ctx;
}

int main(int argc, char **argv)
{
    const char *cert = NULL, *key = NULL, *ca = NULL;
    struct listener listeners[MAX_LISTENERS];
    size_t count = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *opt = argv[i], *val = argv[i + 1];
        if (strcmp(opt, "--cert") == 0)
            cert = val;
        else if (strcmp(opt, "--key") == 0)
            key = val;
        else if (strcmp(opt, "--ca") == 0)
            ca = val;
        else if (strcmp(opt, "--ou") == 0)
            allowed_ou = val;
        else if ((strcmp(opt, "--accept") == 0 || strcmp(opt, "--dial") == 0) && count < MAX_LISTENERS) {
            char from[64];
            const char *eq = strchr(val, '=');
            struct sockaddr_in at;
            if (eq == NULL || (size_t)(eq - val) >= sizeof from) {
                fprintf(stderr, "tls_relay: %s %s: expected IP:PORT=IP:PORT\n", opt, val);
                return 2;
            }
            memcpy(from, val, (size_t)(eq - val));
            from[eq - val] = '\0';
            struct listener *l = &listeners[count++];
            l->tls_in = strcmp(opt, "--accept") == 0;
            if (!parse_addr(from, &at) || !parse_addr(eq + 1, &l->to)) {
                fprintf(stderr, "tls_relay: %s %s: expected IP:PORT=IP:PORT\n", opt, val);
                return 2;
            }
            int one = 1;
            l->fd = socket(AF_INET, SOCK_STREAM, 0);
            if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
                bind(l->fd, (struct sockaddr *)&at, sizeof at) < 0 || listen(l->fd, 128) < 0)
                die(from);
        } else {
            fprintf(stderr, "tls_relay: unknown option %s\n", opt);
            return 2;
        }
    }
    if (cert == NULL || key == NULL || ca == NULL || allowed_ou == NULL || count == 0) {
        fprintf(stderr, "usage: tls_relay --cert F --key F --ca F --ou OU (--accept|--dial) IP:PORT=IP:PORT...\n");
        return 2;
    }
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die("signal");
    server_ctx = context(true, cert, key, ca);
    client_ctx = context(false, cert, key, ca);
    struct pollfd fds[MAX_LISTENERS];
    for (size_t i = 0; i < count; i++)
        fds[i] = (struct pollfd){.fd = listeners[i].fd, .events = POLLIN};
    for (;;) {
        if (poll(fds, count, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        for (size_t i = 0; i < count; i++) {
            if (!(fds[i].revents & POLLIN))
                continue;
            struct sockaddr_in from;
            socklen_t len = sizeof from;
            int fd = accept(listeners[i].fd, (struct sockaddr *)&from, &len);
            if (fd < 0)
                continue;
            struct conn *c = calloc(1, sizeof *c);
            pthread_t thread;
            pthread_attr_t attr;
            if (c == NULL) {
                close(fd);
                continue;
            }
            *c = (struct conn){.clear_fd = fd, .tls_fd = -1, .tls_in = listeners[i].tls_in, .to = listeners[i].to};
            inet_ntop(AF_INET, &from.sin_addr, c->peer_ip, sizeof c->peer_ip);
            if (pthread_attr_init(&attr) != 0 ||
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0 ||
                pthread_create(&thread, &attr, serve, c) != 0) {
                close(fd);
                free(c);
            }
            pthread_attr_destroy(&attr);
        }
    }
}
