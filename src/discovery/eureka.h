/* The Eureka client, over the REST API Netflix Eureka and Spring Cloud Services serve:
 * register (POST), renew (PUT, 404 means register again), discover (GET, JSON), deregister
 * (DELETE), with an OAuth2 bearer token when the binding has client credentials. */
#ifndef ECB_DISCOVERY_EUREKA_H
#define ECB_DISCOVERY_EUREKA_H

#include "discovery/registry.h"
#include "common/strlist.h"

#include <stdbool.h>

/* Metadata keys this agent writes and reads. */
#define EUREKA_META_NODE_NAME "erlangNodeName"
#define EUREKA_META_DIST_PORT "erlangDistPort"
#define EUREKA_META_DIST_MODE "erlangDistMode"
#define EUREKA_META_CLUSTER "erlangCluster"

/* Who we are, as registered. */
struct eureka_self {
    const char *cluster_name;   /* registry app = this, upper-cased */
    const char *node_name;      /* full Erlang node name */
    const char *instance_ip;    /* CF_INSTANCE_INTERNAL_IP */
    const char *instance_guid;
    const char *app_guid;       /* may be NULL */
    int instance_index;         /* -1 when unknown */
    int dist_port;
    bool epmd;                  /* distribution mode: epmd or epmd-less */
    int renewal_interval_s;
    int lease_duration_s;
};

/* "<internal-ip>:<instance-guid>", malloc'd. */
char *eureka_instance_id(const struct eureka_self *self);

/* The POST body {"instance":{...}}, malloc'd JSON text. */
char *eureka_registration_body(const struct eureka_self *self);

/* Called once per rejected instance of an otherwise parsable answer. */
typedef void (*eureka_reject_fn)(void *ctx, const char *instance_id, const char *node_name,
                                 const char *reason);

/* Parses a GET /apps/{APP} answer: keeps UP instances of our cluster (metadata), not
 * ourselves, whose node names pass node_name_valid and have the instance's ipAddr as their
 * host. Another instance claiming our node name is rejected. `instance` may be an array or
 * one object.
 * Returns 0, or -1 with err set when the answer is not a Eureka application. */
int eureka_parse_peers(const char *body, const struct eureka_self *self, struct strlist *peers,
                       eureka_reject_fn reject, void *ctx, char *err, size_t errlen);

/* A registry back end talking to the Eureka of cfg->registry, as cfg and rt->node_name
 * describe this instance, with its own HTTP client (rt->ca_dir, rt->interrupt_fd); each call
 * takes at most rt->budget_ms (0: 3 s). Warns (once, here) when OAuth2 credentials would go
 * over plain http://. */
int registry_eureka_new(const struct config *cfg, const struct registry_runtime *rt,
                        struct registry_backend *out, char *err, size_t errlen);

#endif
