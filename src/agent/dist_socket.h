/* The agent's distribution connections (to its app node, and the probes of peers) through
 * libei's user-supplied socket interface (ei_socket_callbacks): clear text, or TLS over
 * OpenSSL for nodes running -proto_dist inet_tls. inet_tls_dist wraps the whole stream in
 * TLS and runs the usual distribution handshake inside it, so the cookie still applies.
 *
 * With TLS each connection presents the instance identity as its client certificate and
 * accepts the node only when its certificate chains to the CA file, its IP SAN is the address
 * dialled and one of its OUs is "app:<app_guid>" or one of the allowed ones. The identity
 * files are read afresh for every connection, so a rotated certificate is used from the next
 * connection on.
 *
 * Every connection also watches the distribution handshake, so that a refusal can be told
 * apart afterwards (ei reports every failed connection as EIO): the peer closing right after
 * our challenge reply (the packet that proves the cookie) is the refusal of our cookie, and
 * the node's challenge tells the name it really runs under.
 *
 * Use: dist_socket_setup_init, then dist_socket_xinit instead of ei_connect_xinit; connect
 * and talk with the usual ei calls. Single-threaded. */
#ifndef ECB_AGENT_DIST_SOCKET_H
#define ECB_AGENT_DIST_SOCKET_H

#include "launch/tls_identity.h"

#include <ei.h>
#include <stdbool.h>
#include <stddef.h>

struct dist_connection;

/* How the last connection attempt was refused, when it was. */
enum dist_refusal {
    DIST_REFUSED_NOT,    /* not refused (it connected, or nobody answered) */
    DIST_REFUSED_TLS,    /* at the TLS layer: the node refused our certificate or we its */
    DIST_REFUSED_COOKIE, /* the node closed the connection on our challenge reply */
};

struct dist_socket_setup {
    /* NULL: clear text. Not owned; must outlive the setup's connections. An identity without
     * an app_guid accepts no node at all. */
    const struct tls_identity *tls;
    struct dist_connection *live; /* open connections, for dist_socket_pending */
    enum dist_refusal refusal;    /* of the last connection attempt */
    bool reached;                 /* the last attempt's TCP connection was made */
    char error[256];              /* why the last attempt failed in TLS, "" if it did not */
    /* The name the peer gave in the last connection's handshake (its challenge), "" when
     * none was read. ei does not compare it with the name dialled: callers must. */
    char peer_name[MAXNODELEN + 1];
};

void dist_socket_setup_init(struct dist_socket_setup *setup, const struct tls_identity *tls);

/* ei_connect_xinit with these callbacks; then ei_connect_tmo / ei_connect_host_port_tmo and
 * the other ei calls go through them. Returns what ei_connect_xinit_ussi returns. */
int dist_socket_xinit(ei_cnode *ec, const char *host, const char *alive, const char *full,
                      const char *cookie, unsigned creation, struct dist_socket_setup *setup);

/* Why the last connection attempt failed in the TLS layer (certificate files, the node's
 * certificate, the handshake), or "". */
const char *dist_socket_error(const struct dist_socket_setup *setup);

/* The connection on fd holds decrypted data not yet read: poll() on fd would not show it,
 * so read (ei_xreceive_msg_tmo and friends) before waiting on the fd. */
bool dist_socket_pending(const struct dist_socket_setup *setup, int fd);

/* The connection on fd has ended (the node closed it, or it failed), as far as can be told
 * without blocking. ei reports a closed connection and a message it skips both as EIO. */
bool dist_socket_closed(const struct dist_socket_setup *setup, int fd);

/* The node name in a challenge packet (its body, without the length header; 'n' or 'N').
 * Returns 0 with name set, or -1 when packet is no challenge or its name does not fit. */
int dist_challenge_name(const unsigned char *packet, size_t len, char *name, size_t namelen);

/* Whether a certificate OU (n bytes, not NUL-terminated) is one the identity accepts:
 * "app:<app_guid>" or one of its allowed "app:<guid>" / "space:<guid>", the GUIDs in lower
 * case as Cloud Foundry writes them, compared byte for byte as the node's verify_fun
 * (launch/tls_options.c) compares them. An identity without app_guid accepts none. */
bool dist_tls_ou_allowed(const char *ou, size_t n, const struct tls_identity *id);

#endif
