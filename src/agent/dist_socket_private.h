/* Inside the agent's distribution sockets (dist_socket.c, dist_socket_tls.c only). */
#ifndef ECB_AGENT_DIST_SOCKET_PRIVATE_H
#define ECB_AGENT_DIST_SOCKET_PRIVATE_H

#include "agent/dist_socket.h"

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>

struct dist_connection {
    int fd;
    SSL_CTX *ctx;            /* TLS only */
    SSL *ssl;                /* NULL: clear text */
    bool handshake_done;     /* ei finished the distribution handshake: stop watching it */
    bool sent_challenge_reply;
    bool ended;              /* end of stream or an error seen */
    unsigned char hs_buf[512]; /* handshake bytes received, until the peer's name is read */
    size_t hs_have;
    struct dist_socket_setup *setup;
    struct dist_connection *next;
};

/* The deadline of a callback given ei's timeout tmo (monotonic ms); -1: none. */
long long dist_socket_deadline(unsigned tmo);

/* Waits for events on fd until deadline. Returns 0, ETIMEDOUT or an errno. */
int dist_socket_wait_fd(int fd, short events, long long deadline);

/* setup->error = what, with OpenSSL's first queued error when there is one. */
void dist_socket_set_error(struct dist_socket_setup *setup, const char *what);

/* After an SSL call returned ret <= 0: waits for what it needs and returns 0 to retry, or an
 * errno for ei. Sets *closed for an orderly or abrupt end of the stream. */
int dist_tls_wait(struct dist_connection *c, int ret, long long deadline, bool *closed);

/* On c's connected socket: the TLS handshake with the identity as read now, and the node's
 * certificate checked (chain, IP SAN = sin, an allowed OU). Returns 0 or an errno for ei,
 * with setup->error and setup->refusal set. */
int dist_tls_handshake(struct dist_connection *c, const struct sockaddr_in *sin,
                       long long deadline);

/* Bytes just received on c (decrypted): while the handshake runs, reads the peer's name
 * from its challenge into setup->peer_name (dist_handshake.c). */
void dist_handshake_watch(struct dist_connection *c, const char *buf, size_t len);

#endif
