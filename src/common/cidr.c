#include "common/cidr.h"

#include "common/text.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Whether a and b agree on their first prefix bits. */
static bool same_prefix(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
    unsigned whole = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

int cidr_parse(const char *text, struct cidr *out, char *why, size_t whylen)
{
    char shown[64], addr[64];
    text_shown(text, 48, shown, sizeof shown);
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    if (alen == 0 || alen >= sizeof addr) {
        snprintf(why, whylen, "\"%s\" is not an address or network", shown);
        return -1;
    }
    memcpy(addr, text, alen);
    addr[alen] = '\0';
    struct cidr c = {0};
    unsigned max;
    if (inet_pton(AF_INET, addr, c.addr) == 1) {
        c.family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, c.addr) == 1) {
        c.family = AF_INET6;
        max = 128;
    } else {
        snprintf(why, whylen, "\"%s\" is not an IPv4 or IPv6 address", shown);
        return -1;
    }
    c.prefix = max;
    if (slash != NULL) {
        const char *digits = slash + 1;
        char *end;
        unsigned long n = strtoul(digits, &end, 10);
        if (*digits < '0' || *digits > '9' || *end != '\0' || n > max) {
            snprintf(why, whylen, "\"%s\" has a prefix length that is not 0-%u", shown, max);
            return -1;
        }
        c.prefix = (unsigned)n;
    }
    unsigned char net[16];
    memcpy(net, c.addr, sizeof net);
    for (unsigned bit = c.prefix; bit < max; bit++)
        net[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
    if (memcmp(net, c.addr, sizeof net) != 0) {
        char fixed[INET6_ADDRSTRLEN];
        inet_ntop(c.family, net, fixed, sizeof fixed);
        snprintf(why, whylen, "\"%s\" has host bits set (the network is %s/%u)", shown, fixed,
                 c.prefix);
        return -1;
    }
    *out = c;
    return 0;
}

int cidr_list_parse(const char *text, struct cidr **out, size_t *count, char *why,
                    size_t whylen)
{
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    struct cidr *list = calloc(cap, sizeof *list);
    char *copy = strdup(text);
    if (list == NULL || copy == NULL) {
        free(list);
        free(copy);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    size_t n = 0;
    char *save = NULL;
    int rc = 0;
    for (char *entry = strtok_r(copy, ",", &save); entry != NULL && rc == 0;
         entry = strtok_r(NULL, ",", &save)) {
        while (*entry == ' ' || *entry == '\t')
            entry++;
        size_t len = strlen(entry);
        while (len > 0 && (entry[len - 1] == ' ' || entry[len - 1] == '\t'))
            entry[--len] = '\0';
        if (len == 0)
            continue;
        rc = cidr_parse(entry, &list[n], why, whylen);
        n += rc == 0;
    }
    free(copy);
    if (rc == 0 && n == 0) {
        snprintf(why, whylen, "no network given");
        rc = -1;
    }
    if (rc != 0) {
        free(list);
        return -1;
    }
    *out = list;
    *count = n;
    return 0;
}

bool cidr_list_contains(const struct cidr *list, size_t count, const char *address)
{
    unsigned char a[16];
    int family;
    if (inet_pton(AF_INET, address, a) == 1)
        family = AF_INET;
    else if (inet_pton(AF_INET6, address, a) == 1)
        family = AF_INET6;
    else
        return false;
    for (size_t i = 0; i < count; i++)
        if (list[i].family == family && same_prefix(list[i].addr, a, list[i].prefix))
            return true;
    return false;
}
