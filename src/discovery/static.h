/* The static registry back end: peers from ERLANG_CLUSTER_PEERS (comma-separated node names,
 * or IP addresses meaning basename@ip), our own name left out, nothing to register. */
#ifndef ECB_DISCOVERY_STATIC_H
#define ECB_DISCOVERY_STATIC_H

#include "discovery/registry.h"

/* From cfg->peers, cfg->node_basename and rt->node_name. An invalid entry is an error naming
 * ERLANG_CLUSTER_PEERS. */
int registry_static_new(const struct config *cfg, const struct registry_runtime *rt,
                        struct registry_backend *out, char *err, size_t errlen);

#endif
