/* The dns back end's answer handling, apart from the network I/O so that tests can feed it
 * answers: the addresses of each query's answer, and the peer names made from them. */
#ifndef ECB_DISCOVERY_DNS_ANSWER_H
#define ECB_DISCOVERY_DNS_ANSWER_H

#include "discovery/registry.h"
#include "common/strlist.h"

#include <stdbool.h>
#include <stddef.h>

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

/* "A" or "AAAA". */
const char *dns_family_record(int family);

/* Why a lookup failed, in words users can act on. */
const char *dns_lookup_problem(int status);

#endif
