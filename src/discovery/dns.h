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
#include "common/strlist.h"
#include "common/config.h"
#include "common/log.h"

#include <stddef.h>

#define DNS_DEFAULT_BUDGET_MS 2000
#define DNS_MIN_BUDGET_MS 100

struct dns_options {
    const char *query;    /* the name to resolve, used as given (no search domains) */
    const char *basename; /* peers are basename@ip */
    const char *self_ip;  /* this instance's address, left out; NULL: none */
    const char *servers;  /* "ip[:port],[ipv6]:port,..."; NULL: /etc/resolv.conf */
    long budget_ms;       /* the most one discovery may take, both families together */
    int interrupt_fd;     /* readable means "give up now" (the signalfd); -1: none */
};

/* A dns back end. The options' strings are copied. */
int dns_backend_new(const struct dns_options *opts, const struct log_sink *log,
                    struct registry_backend *out, char *err, size_t errlen);

/* The same from the resolved configuration (dns_query, node_basename, instance_ip,
 * dns_servers); the agent passes DNS_DEFAULT_BUDGET_MS. */
int dns_backend_from_config(const struct config *cfg, long budget_ms, int interrupt_fd,
                            const struct log_sink *log, struct registry_backend *out, char *err,
                            size_t errlen);

/* --- Answer handling, separate from the network I/O (exposed for tests). --- */

struct dns_address {
    int family; /* AF_INET or AF_INET6 */
    unsigned char bytes[16];
};

/* The outcome of one query (one address family). */
struct dns_lookup {
    int family;         /* AF_INET (A) or AF_INET6 (AAAA) */
    int status;         /* an ARES_* status: ARES_SUCCESS, ARES_ENOTFOUND, ARES_ETIMEOUT... */
    struct dns_address *addresses;
    size_t count;
    size_t cap;
};

void dns_lookup_init(struct dns_lookup *lookup, int family);
void dns_lookup_free(struct dns_lookup *lookup);

/* Records a query's outcome: status as c-ares reported it and, on success, the addresses
 * parsed from the raw answer (abuf, alen). A success whose answer has no address of the
 * family becomes ARES_ENODATA; an unparsable answer ARES_EBADRESP. */
void dns_lookup_record(struct dns_lookup *lookup, int status, const unsigned char *abuf,
                       int alen);

/* True when status means "the name has no such addresses" (NXDOMAIN or an empty answer)
 * rather than "the lookup failed". */
bool dns_status_is_empty_answer(int status);

/* Peer names from the lookups: basename@ip for every distinct address except self_ip (any
 * spelling of the same address), A answers first, in answer order. REGISTRY_OK when some
 * lookup returned addresses, or when every lookup answered that there are none (peers stays
 * empty); REGISTRY_FAILED with err naming the query and each failure when no lookup
 * returned addresses and one failed. A family that failed while the other answered with
 * addresses is left out (its peers are not dialled this round). */
enum registry_status dns_peers_from_lookups(const struct dns_lookup *lookups, size_t count,
                                            const char *query, const char *basename,
                                            const char *self_ip, struct strlist *peers,
                                            char *err, size_t errlen);

#endif
