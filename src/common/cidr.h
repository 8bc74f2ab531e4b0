/* IP networks in CIDR notation (10.255.0.0/16, fd00::/8): which addresses a peer may have. */
#ifndef ECB_COMMON_CIDR_H
#define ECB_COMMON_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct cidr {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char addr[16];     /* the network, host bits cleared */
    unsigned prefix;            /* 0-32 or 0-128 */
};

/* The networks a peer may be in when ERLANG_CLUSTER_PEER_NETWORK is not set: the private
 * ranges a container network is carved from (RFC 1918, the shared 100.64/10, IPv6 ULA).
 * Cloud Foundry's overlay (10.255.0.0/16 by default) is inside them. Not loopback: a registry
 * entry never legitimately points at the instance itself. */
#define CIDR_DEFAULT_PEER_NETWORK \
    "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7"

/* One entry, "ADDR/PREFIX" or a bare address (a /32 or /128). Host bits set beyond the prefix
 * are refused (10.255.1.0/16 is probably a typo). Returns 0, or -1 with why set. */
int cidr_parse(const char *text, struct cidr *out, char *why, size_t whylen);

/* A comma-separated list (spaces around entries allowed) into a malloc'd array. Returns 0
 * with *out and *count set, or -1 with why naming the bad entry. */
int cidr_list_parse(const char *text, struct cidr **out, size_t *count, char *why,
                    size_t whylen);

/* Whether the address (text, IPv4 or IPv6) is in one of the networks. */
bool cidr_list_contains(const struct cidr *list, size_t count, const char *address);

#endif
