/* Probing a peer with our own cookie, which is also how a new peer is verified before the
 * app node may dial it (peer_verify.c).
 * net_kernel:connect_node/1 on the app node only says false, and ei reports every failed
 * connection as EIO. The probe's socket layer (dist_socket) watches the handshake and tells
 * why a connection was refused: the peer closing right after our challenge reply (the packet
 * that proves the cookie) is the refusal of a different cookie; a TLS alert or a certificate
 * we do not accept is a refusal at the TLS layer. */
#include "agent/dist_socket.h"
#include "agent/erlang_node.h"
#include "agent/erlang_node_private.h"
#include "common/text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PROBE_NAMES 8

static enum peer_probe probe_by_handshake(struct erlang_node *node, const char *peer,
                                          unsigned timeout_ms, char *err, size_t errlen);

enum peer_probe erlang_node_probe_peer(struct erlang_node *node, const char *peer,
                                       unsigned timeout_ms, char *err, size_t errlen)
{
    if (node->probe != NULL)
        return node->probe(node, peer, timeout_ms, err, errlen);
    return probe_by_handshake(node, peer, timeout_ms, err, errlen);
}

static enum peer_probe probe_by_handshake(struct erlang_node *node, const char *peer,
                                          unsigned timeout_ms, char *err, size_t errlen)
{
    const char *at = strchr(peer, '@');
    if (at == NULL || at[1] == '\0') {
        snprintf(err, errlen, "peer name %s has no host part", peer);
        return PEER_PROBE_UNREACHABLE;
    }
    struct dist_socket_setup sock;
    dist_socket_setup_init(&sock, node->tls ? &node->tls_identity : NULL);
    ei_cnode cnode;
    char alive[64], full[MAXNODELEN], host[EI_MAXHOSTNAMELEN + 1];
    /* Every name we dial with becomes a permanent atom in the peer's VM: probes take their
     * names from a small fixed set, so probing (a registry may list many forged names at a
     * real peer's address) never grows a real peer's atom table beyond it. Several names,
     * so a probe never meets the peer's record of the last one still open. */
    static unsigned probes;
    snprintf(alive, sizeof alive, "erlang-cluster-agent-probe-%u", probes++ % PROBE_NAMES);
    ++node->connects;
    snprintf(full, sizeof full, "%s@%s", alive, node->host);
    snprintf(host, sizeof host, "%s", at + 1);
    if (dist_socket_xinit(&cnode, node->host, alive, full, node->cookie, node->connects | 1u,
                          &sock) < 0) {
        snprintf(err, errlen, "cannot set up a C node to probe %s", peer);
        return PEER_PROBE_UNREACHABLE;
    }
    int fd = node->epmd ? ei_connect_tmo(&cnode, (char *)peer, timeout_ms)
                        : ei_connect_host_port_tmo(&cnode, host, node->port, timeout_ms);
    int code = erl_errno;
    explicit_bzero(&cnode, sizeof cnode);
    if (fd >= 0) {
        ei_close_connection(fd);
        /* ei dialled the address and checked the cookie both ways; the name is ours to
         * check: a registry entry may pair any name with any address. */
        if (strcmp(sock.peer_name, peer) == 0)
            return PEER_PROBE_ACCEPTED;
        char shown[64];
        text_shown(sock.peer_name[0] ? sock.peer_name : "(none)", 48, shown, sizeof shown);
        snprintf(err, errlen, "the node at %s's address calls itself %s", peer, shown);
        return PEER_PROBE_WRONG_NAME;
    }
    switch (sock.refusal) {
    case DIST_REFUSED_COOKIE:
        snprintf(err, errlen, "%s refused the handshake: a different cookie", peer);
        return PEER_PROBE_COOKIE_REFUSED;
    case DIST_REFUSED_TLS:
        snprintf(err, errlen, "%s refused at the TLS layer: %s", peer, dist_socket_error(&sock));
        return PEER_PROBE_TLS_REFUSED;
    default:
        break;
    }
    if (sock.error[0] != '\0')
        snprintf(err, errlen, "%s could not be probed: %s", peer, dist_socket_error(&sock));
    else
        snprintf(err, errlen, "%s did not answer a handshake: %s", peer,
                 code == EIO ? "connection refused or closed" : erlang_node_error_text(code));
    return PEER_PROBE_UNREACHABLE;
}
