/* The dns registry back end: peers are the A and AAAA addresses of one name (on Cloud
 * Foundry, the app's internal route H.apps.internal, one address per running instance),
 * named <basename>@<ip>, our own address left out. Nothing to register: an instance is in
 * the answer while the platform runs it.
 *
 * Every discovery is bounded: both queries run together through c-ares and are cancelled
 * when the budget runs out or the interrupt fd becomes readable, so a slow, dead or
 * blackholed DNS server costs at most budget_ms and never delays a stop signal. A failed
 * lookup (timeout, SERVFAIL, REFUSED, unreachable server) is REGISTRY_FAILED; a name with
 * no addresses (NXDOMAIN or an empty answer) is REGISTRY_OK with no peers. Neither
 * disconnects anyone: the loop only ever adds connections. */
#ifndef ECB_DISCOVERY_DNS_H
#define ECB_DISCOVERY_DNS_H

#include "discovery/registry.h"

#define DNS_DEFAULT_BUDGET_MS 2000
#define DNS_MIN_BUDGET_MS 100

/* From cfg->dns_query, node_basename, instance_ip (left out) and dns_servers (NULL:
 * /etc/resolv.conf); rt->budget_ms bounds each discovery (0: DNS_DEFAULT_BUDGET_MS). */
int registry_dns_new(const struct config *cfg, const struct registry_runtime *rt,
                     struct registry_backend *out, char *err, size_t errlen);

#endif
