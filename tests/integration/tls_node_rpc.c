/* tls-node-rpc: connects to a node running TLS distribution the way the agent does (its
 * connection to the app node, agent/erlang_node.h over agent/dist_socket.h), asks it for
 * erlang:node() by rpc and for erlang:nodes() with the agent's own call, and closes:
 *
 *   tls-node-rpc --cert PATH --key PATH --ca PATH --app GUID --node NAME@IP --port N
 *                --cookie-file PATH
 *
 * Prints "node NAME" and "nodes N" (how many nodes the node sees), or one line "refused: ..."
 * saying why. Exit status: 0 answered, 1 refused or failed, 2 usage. Used by
 * tests/e2e/tls-dist.bats. */
#include "agent/erlang_node.h"
#include "common/cookie.h"
#include "common/secret.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT_MS 5000

static int usage(void)
{
    fputs("usage: tls-node-rpc --cert PATH --key PATH --ca PATH --app GUID --node NAME@IP "
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

/* An identity as the launch step records it, from the command line (owned copies). */
static int identity_of(struct tls_identity *id, const char *cert, const char *key,
                       const char *ca, const char *app)
{
    memset(id, 0, sizeof *id);
    if (cert == NULL || key == NULL || ca == NULL)
        return -1;
    id->certfile = strdup(cert);
    id->keyfile = strdup(key);
    id->cafile = strdup(ca);
    id->app_guid = app ? strdup(app) : NULL;
    if (!id->certfile || !id->keyfile || !id->cafile || (app && !id->app_guid)) {
        tls_identity_free(id);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *cert = NULL, *key = NULL, *ca = NULL, *app = NULL, *node_name = NULL,
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
            node_name = val;
        else if (strcmp(opt, "--port") == 0)
            port = atoi(val);
        else if (strcmp(opt, "--cookie-file") == 0)
            cookie_file = val;
        else
            return usage();
    }
    if (node_name == NULL || strchr(node_name, '@') == NULL || port <= 0 || cookie_file == NULL ||
        app == NULL)
        return usage();
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        fputs("tls-node-rpc: cannot set up\n", stderr);
        return 1;
    }
    char err[512] = "";
    char *cookie = NULL;
    if (cookie_read_file(cookie_file, &cookie, err, sizeof err) != COOKIE_READ_OK) {
        fprintf(stderr, "tls-node-rpc: %s\n", err);
        return 1;
    }
    struct tls_identity id;
    if (identity_of(&id, cert, key, ca, app) != 0) {
        fputs("tls-node-rpc: the certificate, key and CA file paths are all needed\n", stderr);
        secret_free(cookie);
        return usage();
    }
    struct erlang_node node;
    if (erlang_node_init(&node, node_name, port, false, cookie, err, sizeof err) != 0) {
        fprintf(stderr, "tls-node-rpc: %s\n", err);
        tls_identity_free(&id);
        secret_free(cookie);
        return 1;
    }
    secret_free(cookie);
    erlang_node_use_tls(&node, &id);
    int status = 1;
    if (erlang_node_connect(&node, TIMEOUT_MS, err, sizeof err) != 0) {
        const char *tls_error = dist_socket_error(&node.sock);
        printf("refused: %s (%s)\n", tls_error[0] ? tls_error : "no TLS error", err);
        goto out;
    }
    ei_x_buff reply;
    if (ei_x_new(&reply) < 0)
        goto out;
    char name[MAXATOMLEN] = "";
    int index;
    struct strlist nodes = {0};
    if (rpc0(&node.cnode, node.fd, "erlang", "node", &reply, &index) == 0 &&
        ei_decode_atom(reply.buff, &index, name) == 0 &&
        erlang_node_list(&node, &nodes, TIMEOUT_MS, err, sizeof err) == 0) {
        printf("node %s\nnodes %zu\n", name, nodes.len);
        status = 0;
    } else {
        const char *tls_error = dist_socket_error(&node.sock);
        printf("refused: the rpc failed: %s (%s)\n", tls_error[0] ? tls_error : "no TLS error",
               err[0] ? err : strerror(erl_errno));
    }
    strlist_clear(&nodes);
    ei_x_free(&reply);
out:
    erlang_node_free(&node);
    return status;
}
