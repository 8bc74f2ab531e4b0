/* The static registry back end: peers from ERLANG_CLUSTER_PEERS (comma-separated node names),
 * nothing to register. */
#ifndef ECB_DISCOVERY_STATIC_H
#define ECB_DISCOVERY_STATIC_H

#include "discovery/registry.h"
#include "common/log.h"

/* peers: comma-separated node names (base@host) or IP addresses (meaning basename@ip);
 * self_node: our own name, left out of the list. Invalid entries are an error naming
 * ERLANG_CLUSTER_PEERS. */
int static_backend_new(const char *peers, const char *basename, const char *self_node,
                       struct registry_backend *out, char *err, size_t errlen);

#endif
