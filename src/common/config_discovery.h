/* Inside the configuration (config*.c only): choosing the discovery mode. */
#ifndef ECB_CONFIG_DISCOVERY_H
#define ECB_CONFIG_DISCOVERY_H

#include "common/config_layers.h"
#include "common/vcap.h"

/* Sets cfg->discovery (never AUTO), cfg->discovery_reason and, for eureka, moves the chosen
 * registry binding out of services into cfg->registry. A requested mode must be usable (a
 * registry bound, something to resolve, peers listed); auto takes the first of: a bound
 * registry, ERLANG_CLUSTER_DNS_QUERY, an apps.internal route, ERLANG_CLUSTER_PEERS, none.
 * dns without ERLANG_CLUSTER_DNS_QUERY resolves the internal route. Needs cfg's service
 * name, DNS query, peers and app routes resolved first. */
int config_choose_discovery(const struct config_layers *l, struct config *cfg,
                            struct vcap_services *services, char *err, size_t errlen);

#endif
