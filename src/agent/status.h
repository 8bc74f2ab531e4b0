/* The agent's current view, written atomically to <run dir>/status.json on every change and
 * printed by `erlang-cluster-agent status` for someone who runs `cf ssh`. */
#ifndef ECB_AGENT_STATUS_H
#define ECB_AGENT_STATUS_H

#include "agent/peers.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

struct agent_status {
    const char *mode;            /* discovery mode: eureka, static, ... */
    const char *cluster;
    const char *node;            /* the app node's name */
    const char *state;           /* waiting-for-node, running, stopping */
    bool node_up;
    const char *registration;    /* registered, not-registered, none (no lease) */
    const char *registry;        /* reachable, unreachable, unknown */
    const char *instance_id;     /* may be NULL */
    const char *last_error;      /* may be NULL (never a secret) */
    time_t last_error_at;
    time_t registered_at;        /* 0 when never */
    time_t last_discovery_at;    /* 0 when never */
    const struct peer_set *peers;
    long pid;
    const char *tls_app;         /* TLS distribution for this app GUID; NULL: clear text */
    const char *tls_certfile;    /* the instance certificate (status reads its expiry) */
    bool clear_despite_tls;      /* the node ran clear text with TLS on (its distribution
                                    was stopped) */
};

/* The last error shown by `status`, with what kind of condition caused it, so that it is
 * cleared once that condition is gone (the node came up, the registry answered, the peer
 * that refused us is gone) instead of being shown as current forever. */
enum status_error_kind {
    STATUS_ERROR_NODE,     /* reaching the local app node */
    STATUS_ERROR_REGISTRY, /* the registry */
    STATUS_ERROR_PEER,     /* a peer refused us */
};

struct status_error {
    char text[512]; /* empty: none (never a secret) */
    time_t at;
    enum status_error_kind kind;
};

void status_error_set(struct status_error *e, enum status_error_kind kind, time_t at,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The condition of that kind is gone: forget an error of that kind (others stay). */
void status_error_clear(struct status_error *e, enum status_error_kind kind);

/* JSON text (malloc'd) of the view. */
char *status_to_json(const struct agent_status *status);

/* Prints a status.json text for people, the certificate's expiry read from its file now.
 * Returns -1 with err set when it does not parse. */
int status_print(const char *json, FILE *out, char *err, size_t errlen);

#endif
