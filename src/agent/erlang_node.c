/* The connection to the app node: a hidden C node (erl_interface) with a fresh name on every
 * connection, over dist_socket (clear text or TLS), and the ticks it must answer between
 * calls. */
#include "agent/erlang_node.h"
#include "agent/erlang_node_private.h"
#include "common/clock.h"
#include "common/secret.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* The C node names of the agent's own connections to its app node. */
#define NODE_NAMES 8

int erlang_node_init(struct erlang_node *node, const char *target, int port, bool epmd,
                     const char *cookie, char *err, size_t errlen)
{
    memset(node, 0, sizeof *node);
    node->fd = -1;
    node->stop_fd = -1;
    const char *at = strchr(target, '@');
    if (!at || at[1] == '\0') {
        snprintf(err, errlen, "app node name %s has no host part (need base@host)", target);
        return -1;
    }
    if (!cookie || !*cookie) {
        snprintf(err, errlen, "no Erlang cookie");
        return -1;
    }
    if (strlen(cookie) >= MAXATOMLEN) {
        snprintf(err, errlen, "Erlang cookie longer than %d bytes", MAXATOMLEN - 1);
        return -1;
    }
    node->target = strdup(target);
    node->host = strdup(at + 1);
    node->cookie = strdup(cookie);
    node->port = port;
    node->epmd = epmd;
    if (!node->target || !node->host || !node->cookie) {
        snprintf(err, errlen, "out of memory");
        erlang_node_free(node);
        return -1;
    }
    if (ei_init() != 0) {
        snprintf(err, errlen, "erl_interface initialisation failed");
        erlang_node_free(node);
        return -1;
    }
    return 0;
}

void erlang_node_use_tls(struct erlang_node *node, struct tls_identity *id)
{
    if (node->tls)
        tls_identity_free(&node->tls_identity);
    node->tls_identity = *id;
    memset(id, 0, sizeof *id);
    node->tls = true;
}

void erlang_node_free(struct erlang_node *node)
{
    erlang_node_disconnect(node);
    if (node->tls)
        tls_identity_free(&node->tls_identity);
    node->tls = false;
    free(node->target);
    free(node->host);
    secret_free(node->cookie);
    explicit_bzero(&node->cnode, sizeof node->cnode);
    node->target = node->host = node->cookie = NULL;
}

bool erlang_node_connected(const struct erlang_node *node)
{
    return node->fd >= 0;
}

void erlang_node_disconnect(struct erlang_node *node)
{
    if (node->fd >= 0) {
        ei_close_connection(node->fd);
        node->fd = -1;
    }
}

const char *erlang_node_error_text(int code)
{
    switch (code) {
    case EIO: return "connection closed or handshake refused (wrong cookie?)";
    case ETIMEDOUT: return "timed out";
    case EHOSTUNREACH: return "host unreachable or node not running";
    case ECONNREFUSED: return "connection refused (node not listening yet)";
    case ENOMEM: return "out of memory";
    default: return code ? strerror(code) : "unknown error";
    }
}

bool erlang_node_connection_closed(const struct erlang_node *node)
{
    return dist_socket_closed(&node->sock, node->fd);
}

bool erlang_node_input_pending(const struct erlang_node *node)
{
    return node->fd >= 0 && dist_socket_pending(&node->sock, node->fd);
}

/* The node refused the attempt that just failed or, having let us in, runs under another
 * name than the one we dialled: what it said goes into node->refusal. */
static bool note_refusal(struct erlang_node *node, bool connected)
{
    struct erlang_node_refusal *r = &node->refusal;
    memset(r, 0, sizeof *r);
    const char *seen = node->sock.peer_name;
    r->cookie = !connected && node->sock.refusal == DIST_REFUSED_COOKIE;
    r->tls = !connected && node->sock.refusal == DIST_REFUSED_TLS;
    if (seen[0] != '\0' && strcmp(seen, node->target) != 0)
        snprintf(r->answered_as, sizeof r->answered_as, "%s", seen);
    return r->cookie || r->tls || r->answered_as[0] != '\0';
}

/* A connection as erlang_node_connect makes it, with tls (NULL: clear text). */
static int connect_with(struct erlang_node *node, const struct tls_identity *tls,
                        unsigned timeout_ms, char *err, size_t errlen)
{
    if (node->fd >= 0)
        return 0;
    /* Every name we dial with becomes a permanent atom in the node: names come from a small
     * fixed set, taken in turn, so reconnecting never grows its atom table beyond it, and the
     * name just used (the node may not have noticed that connection is gone) waits its turn. */
    static unsigned names;
    uint32_t nonce = 0;
    if (getrandom(&nonce, sizeof nonce, GRND_NONBLOCK) != (ssize_t)sizeof nonce)
        nonce = (uint32_t)monotonic_ms();
    char alive[64], full[MAXNODELEN];
    ++node->connects;
    snprintf(alive, sizeof alive, "erlang-cluster-agent-node-%u", names++ % NODE_NAMES);
    snprintf(full, sizeof full, "%s@%s", alive, node->host);
    /* No connection is open (fd < 0), so the setup holds none: set it afresh. */
    dist_socket_setup_init(&node->sock, tls);
    if (dist_socket_xinit(&node->cnode, node->host, alive, full, node->cookie,
                          (unsigned)(nonce | 1u), &node->sock) < 0) {
        snprintf(err, errlen, "cannot set up C node %s: %s", full, erlang_node_error_text(erl_errno));
        return -1;
    }
    int fd;
    if (node->epmd)
        fd = ei_connect_tmo(&node->cnode, node->target, timeout_ms);
    else
        fd = ei_connect_host_port_tmo(&node->cnode, node->host, node->port, timeout_ms);
    int code = erl_errno;
    bool refused = note_refusal(node, fd >= 0);
    if (fd >= 0 && !refused) {
        node->fd = fd;
        node->sessions++;
        return 0;
    }
    if (fd >= 0) {
        ei_close_connection(fd);
        snprintf(err, errlen, "app node %s: the node on port %d runs as %s", node->target,
                 node->port, node->refusal.answered_as);
        return ERLANG_NODE_REFUSED;
    }
    const char *why = node->refusal.cookie
                          ? "it refused our challenge reply: a wrong cookie (it runs with another one)"
                      : node->sock.error[0] != '\0' ? node->sock.error
                      : code == EIO ? "handshake refused (wrong cookie, or not an Erlang node)"
                                    : erlang_node_error_text(code);
    if (node->epmd)
        snprintf(err, errlen, "cannot connect to app node %s via epmd: %s", node->target, why);
    else
        snprintf(err, errlen, "cannot connect to app node %s on port %d: %s", node->target,
                 node->port, why);
    if (refused)
        return ERLANG_NODE_REFUSED;
    return code == ETIMEDOUT ? ERLANG_NODE_SLOW : -1;
}

int erlang_node_connect(struct erlang_node *node, unsigned timeout_ms, char *err, size_t errlen)
{
    return connect_with(node, node->tls ? &node->tls_identity : NULL, timeout_ms, err, errlen);
}

int erlang_node_connect_clear(struct erlang_node *node, unsigned timeout_ms, char *err,
                              size_t errlen)
{
    return connect_with(node, NULL, timeout_ms, err, errlen);
}

bool erlang_node_attempt_reached(const struct erlang_node *node)
{
    return node->sock.reached;
}

bool erlang_node_port_listening(const struct erlang_node *node, unsigned timeout_ms)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)node->port)};
    if (node->epmd || inet_pton(AF_INET, node->host, &sin.sin_addr) != 1)
        return true; /* nothing to tell: assume it is still there */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return true;
    bool listening = true;
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        if (errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (poll(&pfd, 1, (int)timeout_ms) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0)
                listening = soerr != ECONNREFUSED;
        } else {
            listening = errno != ECONNREFUSED;
        }
    }
    close(fd);
    return listening;
}

int erlang_node_handle_input(struct erlang_node *node, char *err, size_t errlen)
{
    if (node->fd < 0) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    ei_x_buff buf;
    if (ei_x_new(&buf) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    erlang_msg msg;
    int r = ei_xreceive_msg_tmo(node->fd, &msg, &buf, 200);
    int code = erl_errno;
    ei_x_free(&buf);
    if (r == ERL_ERROR && code == EIO && !erlang_node_connection_closed(node))
        return 0; /* a message ei does not handle: skipped */
    if (r == ERL_ERROR && code != ETIMEDOUT && code != EAGAIN) {
        snprintf(err, errlen, "connection to app node %s closed: %s", node->target,
                 erlang_node_error_text(code));
        erlang_node_disconnect(node);
        return -1;
    }
    return 0;
}
