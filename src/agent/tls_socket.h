/* TLS for the agent's libei connections: ei's user-supplied socket interface
 * (ei_socket_callbacks) over OpenSSL, for a node running TLS distribution (-proto_dist
 * inet_tls). inet_tls_dist wraps the whole stream in TLS and runs the usual distribution
 * handshake inside it, so the cookie still applies on top.
 *
 * Each connection presents the instance identity as its client certificate and accepts the
 * node only when its certificate chains to the CA file, its IP SAN is the address dialled
 * and (when an app GUID is given) one of its OUs is "app:<guid>". The identity files are read
 * afresh for every connection, so a rotated certificate is used from the next connection on.
 *
 * Use: tls_socket_setup_init, then tls_socket_xinit instead of ei_connect_xinit; connect and
 * talk with the usual ei calls. Single-threaded. */
#ifndef ECB_AGENT_TLS_SOCKET_H
#define ECB_AGENT_TLS_SOCKET_H

#include <ei.h>
#include <stdbool.h>
#include <stddef.h>

struct tls_connection;

struct tls_socket_setup {
    char *certfile;  /* the instance certificate chain (leaf, then issuer) */
    char *keyfile;   /* its key */
    char *cafile;    /* the issuers the node's certificate must chain to */
    char *app_guid;  /* NULL: any OU */
    struct tls_connection *live; /* open connections, for tls_socket_pending */
    char error[256]; /* why the last connection failed, "" if it did not */
};

/* Copies the paths (and app_guid, may be NULL). Returns -1 with err set on bad input. */
int tls_socket_setup_init(struct tls_socket_setup *setup, const char *certfile,
                          const char *keyfile, const char *cafile, const char *app_guid,
                          char *err, size_t errlen);
/* Only once every connection made with it is closed. */
void tls_socket_setup_free(struct tls_socket_setup *setup);

/* ei_connect_xinit with the TLS callbacks; then ei_connect_tmo / ei_connect_host_port_tmo and
 * the other ei calls work over TLS. Returns what ei_connect_xinit_ussi returns. */
int tls_socket_xinit(ei_cnode *ec, const char *host, const char *alive, const char *full,
                     const char *cookie, unsigned creation, struct tls_socket_setup *setup);

/* Why the last connection attempt failed in the TLS layer (certificate files, the node's
 * certificate, the handshake), or "" when it did not: ei itself only reports an errno. */
const char *tls_socket_error(const struct tls_socket_setup *setup);

/* The connection on fd holds decrypted data not yet read: poll() on fd would not show it,
 * so read (ei_xreceive_msg_tmo) before waiting on the fd. */
bool tls_socket_pending(const struct tls_socket_setup *setup, int fd);

#endif
