#include "discovery/dns_answer.h"

#include "common/node_name.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dns_lookup_init(struct dns_lookup *lookup, int family)
{
    memset(lookup, 0, sizeof *lookup);
    lookup->family = family;
    lookup->status = ARES_ETIMEOUT; /* until an answer says otherwise */
}

void dns_lookup_free(struct dns_lookup *lookup)
{
    free(lookup->addresses);
    lookup->addresses = NULL;
    lookup->count = lookup->cap = 0;
}

static int lookup_add(struct dns_lookup *lookup, const void *bytes, size_t len)
{
    if (lookup->count == lookup->cap) {
        size_t cap = lookup->cap ? lookup->cap * 2 : 8;
        struct dns_address *grown = realloc(lookup->addresses, cap * sizeof *grown);
        if (!grown)
            return -1;
        lookup->addresses = grown;
        lookup->cap = cap;
    }
    struct dns_address *a = &lookup->addresses[lookup->count++];
    memset(a, 0, sizeof *a);
    a->family = lookup->family;
    memcpy(a->bytes, bytes, len);
    return 0;
}

void dns_lookup_record(struct dns_lookup *lookup, int status, const unsigned char *abuf, int alen)
{
    dns_lookup_free(lookup);
    lookup->status = status;
    if (status != ARES_SUCCESS)
        return;
    struct hostent *host = NULL;
    int rc = lookup->family == AF_INET ? ares_parse_a_reply(abuf, alen, &host, NULL, NULL)
                                       : ares_parse_aaaa_reply(abuf, alen, &host, NULL, NULL);
    if (rc != ARES_SUCCESS) {
        lookup->status = rc == ARES_ENODATA ? ARES_ENODATA : ARES_EBADRESP;
        return;
    }
    size_t len = lookup->family == AF_INET ? 4 : 16;
    if (host->h_addrtype == lookup->family && (size_t)host->h_length == len) {
        for (char **a = host->h_addr_list; a && *a; a++) {
            if (lookup_add(lookup, *a, len) != 0) {
                lookup->status = ARES_ENOMEM;
                break;
            }
        }
    }
    ares_free_hostent(host);
    if (lookup->status == ARES_SUCCESS && lookup->count == 0)
        lookup->status = ARES_ENODATA;
}

bool dns_status_is_empty_answer(int status)
{
    return status == ARES_ENOTFOUND || status == ARES_ENODATA;
}

const char *dns_family_record(int family)
{
    return family == AF_INET ? "A" : "AAAA";
}

const char *dns_lookup_problem(int status)
{
    switch (status) {
    case ARES_ETIMEOUT: return "no answer in time";
    case ARES_ESERVFAIL: return "server failure (SERVFAIL)";
    case ARES_EREFUSED: return "refused by the server";
    /* c-ares 1.18 also ends here when every server answered REFUSED or SERVFAIL (it moves
     * on to the next server on those answers instead of reporting them). */
    case ARES_ECONNREFUSED: return "no server gave an answer (connection refused, or the "
                                   "server answered REFUSED or SERVFAIL)";
    case ARES_EBADRESP: return "malformed answer";
    default: return ares_strerror(status);
    }
}

static bool parse_address(const char *text, struct dns_address *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text, out->bytes) == 1) {
        out->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text, out->bytes) == 1) {
        out->family = AF_INET6;
        return true;
    }
    return false;
}

static bool same_address(const struct dns_address *a, const struct dns_address *b)
{
    return a->family == b->family &&
           memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16) == 0;
}

enum registry_status dns_peers_from_lookups(const struct dns_lookup *lookups, size_t count,
                                            const char *query, const char *basename,
                                            const char *self_ip, struct strlist *peers,
                                            char *err, size_t errlen)
{
    struct dns_address self;
    bool has_self = self_ip && parse_address(self_ip, &self);
    bool answered = false, failed = false;
    for (size_t i = 0; i < count; i++) {
        answered |= lookups[i].count > 0;
        failed |= lookups[i].status != ARES_SUCCESS &&
                  !dns_status_is_empty_answer(lookups[i].status);
    }
    if (failed && !answered) {
        int n = snprintf(err, errlen, "DNS lookup of %s failed:", query);
        for (size_t i = 0; i < count && n >= 0 && (size_t)n < errlen; i++) {
            const struct dns_lookup *l = &lookups[i];
            const char *what = dns_status_is_empty_answer(l->status) ? "no records"
                                                                      : dns_lookup_problem(l->status);
            n += snprintf(err + n, errlen - (size_t)n, "%s %s: %s", i ? ";" : "",
                          dns_family_record(l->family), what);
        }
        return REGISTRY_FAILED;
    }
    for (size_t i = 0; i < count; i++) {
        const struct dns_lookup *l = &lookups[i];
        for (size_t j = 0; j < l->count; j++) {
            const struct dns_address *a = &l->addresses[j];
            if (has_self && same_address(a, &self))
                continue;
            char ip[INET6_ADDRSTRLEN];
            char name[NODE_NAME_MAX + 1];
            if (!inet_ntop(a->family, a->bytes, ip, sizeof ip)) {
                snprintf(err, errlen, "cannot format an address of %s: %s", query,
                         strerror(errno));
                return REGISTRY_FAILED;
            }
            int n = snprintf(name, sizeof name, "%s@%s", basename, ip);
            if (n < 0 || (size_t)n >= sizeof name || !node_name_valid(name)) {
                snprintf(err, errlen, "%s@%s is not a valid node name", basename, ip);
                return REGISTRY_FAILED;
            }
            if (strlist_add_unique(peers, name) != 0) {
                snprintf(err, errlen, "out of memory");
                return REGISTRY_FAILED;
            }
        }
    }
    return REGISTRY_OK;
}

