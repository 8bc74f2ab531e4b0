/* tls-node-rpc: connects to a node running TLS distribution through the agent's TLS channel
 * (agent/tls_socket.h), asks it for erlang:node() and erlang:nodes() by rpc, and closes:
 *
 *   tls-node-rpc --cert PATH --key PATH --ca PATH [--app GUID] --node NAME@IP --port N
 *                --cookie-file PATH
 *
 * Prints "node NAME" and "nodes N" (how many nodes the node sees), or one line "refused: ..."
 * saying why. Exit status: 0 answered, 1 refused or failed, 2 usage. Used by
 * tests/e2e/tls-dist.bats. */
#include "agent/tls_socket.h"
#include "agent/erlang_node.h"
#include "common/cookie.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT_MS 5000

static int usage(void)
{
    fputs("usage: tls-node-rpc --cert PATH --key PATH --ca PATH [--app GUID] --node NAME@IP "
          "--port N --cookie-file PATH\n",
          stderr);
    return 2;
}

/* rpc MOD:FUN() on fd; the reply's {rex, Term} left in reply with *index at Term. */
static int rpc0(ei_cnode *ec, int fd, const char *mod, const char *fun, ei_x_buff *reply,
                int *index)
{
    ei_x_buff args;
    if (ei_x_new(&args) < 0 || ei_x_encode_empty_list(&args) < 0)
        return -1;
    int rc = ei_rpc_to(ec, fd, (char *)mod, (char *)fun, args.buff, args.index);
    ei_x_free(&args);
    if (rc < 0)
        return -1;
    for (;;) {
        erlang_msg msg;
        reply->index = 0;
        int r = ei_rpc_from(ec, fd, TIMEOUT_MS, &msg, reply);
        if (r == ERL_TICK)
            continue;
        if (r == ERL_ERROR)
            return -1;
        int version, arity;
        char tag[MAXATOMLEN] = "";
        *index = 0;
        if (ei_decode_version(reply->buff, index, &version) < 0 ||
            ei_decode_tuple_header(reply->buff, index, &arity) < 0 || arity != 2 ||
            ei_decode_atom(reply->buff, index, tag) < 0 || strcmp(tag, "rex") != 0)
            continue; /* not our answer */
        return 0;
    }
}

int main(int argc, char **argv)
{
    const char *cert = NULL, *key = NULL, *ca = NULL, *app = NULL, *node = NULL,
               *cookie_file = NULL;
    int port = 0;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage();
        const char *opt = argv[i], *val = argv[i + 1];
        if (strcmp(opt, "--cert") == 0)
            cert = val;
        else if (strcmp(opt, "--key") == 0)
            key = val;
        else if (strcmp(opt, "--ca") == 0)
            ca = val;
        else if (strcmp(opt, "--app") == 0)
            app = val;
        else if (strcmp(opt, "--node") == 0)
            node = val;
        else if (strcmp(opt, "--port") == 0)
            port = atoi(val);
        else if (strcmp(opt, "--cookie-file") == 0)
            cookie_file = val;
        else
            return usage();
    }
    const char *at = node ? strchr(node, '@') : NULL;
    if (at == NULL || port <= 0 || cookie_file == NULL)
        return usage();
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || ei_init() != 0) {
        fputs("tls-node-rpc: cannot set up\n", stderr);
        return 1;
    }
    char err[256];
    char *cookie = NULL;
    if (cookie_read_file(cookie_file, &cookie, err, sizeof err) != COOKIE_READ_OK) {
        fprintf(stderr, "tls-node-rpc: %s\n", err);
        return 1;
    }
    struct tls_socket_setup tls;
    if (tls_socket_setup_init(&tls, cert, key, ca, app, err, sizeof err) != 0) {
        fprintf(stderr, "tls-node-rpc: %s\n", err);
        secret_free(cookie);
        return 1;
    }
    char host[128], alive[64], full[MAXNODELEN];
    snprintf(host, sizeof host, "%s", at + 1);
    snprintf(alive, sizeof alive, "tls-node-rpc-%ld", (long)getpid());
    snprintf(full, sizeof full, "%s@%s", alive, host);
    ei_cnode ec;
    int status = 1;
    if (tls_socket_xinit(&ec, host, alive, full, cookie, (unsigned)getpid() | 1u, &tls) < 0) {
        fputs("tls-node-rpc: cannot set up the C node\n", stderr);
        goto out;
    }
    int fd = ei_connect_host_port_tmo(&ec, host, port, TIMEOUT_MS);
    if (fd < 0) {
        printf("refused: %s (%s)\n", tls_socket_error(&tls)[0] ? tls_socket_error(&tls)
                                                               : "no TLS error",
               strerror(erl_errno));
        goto out;
    }
    ei_x_buff reply;
    if (ei_x_new(&reply) < 0) {
        ei_close_connection(fd);
        goto out;
    }
    char name[MAXATOMLEN] = "";
    int index, count = -1;
    if (rpc0(&ec, fd, "erlang", "node", &reply, &index) == 0 &&
        ei_decode_atom(reply.buff, &index, name) == 0 &&
        rpc0(&ec, fd, "erlang", "nodes", &reply, &index) == 0) {
        int type, size;
        if (ei_get_type(reply.buff, &index, &type, &size) == 0)
            count = size;
        printf("node %s\nnodes %d\n", name, count);
        status = 0;
    } else {
        printf("refused: the rpc failed: %s (%s)\n",
               tls_socket_error(&tls)[0] ? tls_socket_error(&tls) : "no TLS error",
               strerror(erl_errno));
    }
    ei_x_free(&reply);
    ei_close_connection(fd);
out:
    explicit_bzero(&ec, sizeof ec);
    explicit_bzero(cookie, strlen(cookie));
    secret_free(cookie);
    tls_socket_setup_free(&tls);
    return status;
}
