#include "common/config_values.h"

#include "common/cidr.h"

#include "common/guid.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/node_name.h"

#define INET6_TEXT_MAX 45 /* the longest IPv6 literal, as inet_ntop's INET6_ADDRSTRLEN - 1 */

int config_bad_value(char *err, size_t errlen, const struct picked *p, const char *problem,
                     const char *accepted)
{
    char shown[80];
    text_shown(p->value, CONFIG_SHOWN_MAX, shown, sizeof shown);
    return set_error(err, errlen, "%s: \"%s\" %s; %s", p->origin, shown, problem, accepted);
}

int config_dup(char **dst, const char *src, char *err, size_t errlen)
{
    *dst = strdup(src);
    return *dst == NULL ? set_error(err, errlen, "configuration: out of memory") : 0;
}

bool config_all_chars_in(const char *s, const char *extra)
{
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
            return false;
    return true;
}

int config_parse_bool(const struct picked *p, bool *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"true", "1", "yes"};
    static const char *const no[] = {"false", "0", "no"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(p->value, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(p->value, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return config_bad_value(err, errlen, p, "is not a boolean", "use true or false (also 1/0, yes/no)");
}

int config_parse_int(const struct picked *p, long min, long max, int *out, char *err,
                     size_t errlen)
{
    char accepted[96];
    snprintf(accepted, sizeof accepted, "use a whole number from %ld to %ld", min, max);
    const char *s = p->value;
    if (*s == '\0' || !(isdigit((unsigned char)*s) || (*s == '-' && isdigit((unsigned char)s[1]))))
        return config_bad_value(err, errlen, p, "is not a number", accepted);
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end != '\0')
        return config_bad_value(err, errlen, p, "is not a number", accepted);
    if (errno == ERANGE || v < min || v > max)
        return config_bad_value(err, errlen, p, "is out of range", accepted);
    *out = (int)v;
    return 0;
}

/* A settings value with a fixed set of names. */
int config_parse_choice(const struct picked *p, const char *const *names, size_t count,
                        const char *accepted, int *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < count; i++)
        if (names[i] != NULL && strcasecmp(p->value, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    return config_bad_value(err, errlen, p, "is not a known value", accepted);
}

/* Splits a comma-separated list, trims each entry, validates it, and joins the result with
 * single commas into *out. */
static int parse_list(const struct picked *p, bool (*valid)(const char *), const char *what,
                      const char *accepted, char **out, char *err, size_t errlen)
{
    char *copy = strdup(p->value);
    char *joined = calloc(strlen(p->value) + 1, 1);
    if (copy == NULL || joined == NULL) {
        free(copy);
        free(joined);
        return set_error(err, errlen, "%s: out of memory", p->origin);
    }
    int rc = 0;
    size_t count = 0;
    char *rest = copy;
    for (;;) {
        char *comma = strchr(rest, ',');
        if (comma != NULL)
            *comma = '\0';
        char *entry = rest;
        while (*entry == ' ' || *entry == '\t')
            entry++;
        size_t len = strlen(entry);
        while (len > 0 && (entry[len - 1] == ' ' || entry[len - 1] == '\t'))
            entry[--len] = '\0';
        if (len == 0) {
            rc = config_bad_value(err, errlen, p, "has an empty entry", accepted);
            break;
        }
        if (!valid(entry)) {
            char shown[80], problem[160];
            text_shown(entry, CONFIG_SHOWN_MAX, shown, sizeof shown);
            snprintf(problem, sizeof problem, "has \"%s\", which is not %s", shown, what);
            rc = config_bad_value(err, errlen, p, problem, accepted);
            break;
        }
        if (count++ > 0)
            strcat(joined, ",");
        strcat(joined, entry);
        if (comma == NULL)
            break;
        rest = comma + 1;
    }
    free(copy);
    if (rc != 0) {
        free(joined);
        return -1;
    }
    *out = joined;
    return 0;
}

static bool peer_entry_valid(const char *entry)
{
    return node_name_valid(entry) || ip_literal_valid(entry);
}

/* A port number 1..65535 written as plain digits. */
static bool port_text_valid(const char *text)
{
    if (*text == '\0' || strlen(text) > 5 || strspn(text, "0123456789") != strlen(text))
        return false;
    long port = strtol(text, NULL, 10);
    return port >= 1 && port <= 65535;
}

/* One DNS server: an IP literal, IPv4:port, or [IPv6] / [IPv6]:port. */
static bool dns_server_entry_valid(const char *entry)
{
    char host[INET6_TEXT_MAX + 1];
    if (entry[0] == '[') {
        const char *close = strchr(entry, ']');
        size_t len = close != NULL ? (size_t)(close - entry - 1) : 0;
        if (close == NULL || len == 0 || len > INET6_TEXT_MAX)
            return false;
        memcpy(host, entry + 1, len);
        host[len] = '\0';
        if (strchr(host, ':') == NULL || !ip_literal_valid(host))
            return false;
        return close[1] == '\0' || (close[1] == ':' && port_text_valid(close + 2));
    }
    const char *colon = strchr(entry, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL) {
        size_t len = (size_t)(colon - entry);
        if (len == 0 || len > INET6_TEXT_MAX)
            return false;
        memcpy(host, entry, len);
        host[len] = '\0';
        return strchr(host, '.') != NULL && ip_literal_valid(host) && port_text_valid(colon + 1);
    }
    return ip_literal_valid(entry);
}

/* c-ares takes [IPv6] only with a port: "[fd00::1]" becomes "fd00::1". */
static void unbracket_portless_ipv6(char *list)
{
    char *entry = list;
    while (*entry != '\0') {
        size_t len = strcspn(entry, ",");
        if (entry[0] == '[' && entry[len - 1] == ']') {
            memmove(entry, entry + 1, len - 2);
            memmove(entry + len - 2, entry + len, strlen(entry + len) + 1);
            len -= 2;
        }
        entry += len;
        if (*entry == ',')
            entry++;
    }
}

static bool process_type_valid(const char *entry)
{
    return strlen(entry) <= 64 && config_all_chars_in(entry, "_-");
}

int config_parse_process_types(const struct picked *p, char **out, char *err, size_t errlen)
{
    return parse_list(p, process_type_valid, "a process type name",
                      "use comma-separated process types such as web,worker (default web)", out,
                      err, errlen);
}

int config_parse_peers(const struct picked *p, char **out, char *err, size_t errlen)
{
    return parse_list(p, peer_entry_valid, "a node name (base@host) or an IP address",
                      "use comma-separated long node names like app@10.0.0.5, or IP addresses",
                      out, err, errlen);
}

int config_parse_dns_servers(const struct picked *p, char **out, char *err, size_t errlen)
{
    if (parse_list(p, dns_server_entry_valid, "a DNS server address",
                   "use comma-separated IP addresses with an optional port, like 10.0.0.2, "
                   "10.0.0.2:53 or [fd00::2]:53 (default: /etc/resolv.conf)",
                   out, err, errlen) != 0)
        return -1;
    unbracket_portless_ipv6(*out);
    return 0;
}

int config_parse_dns_query(const struct picked *p, char **out, char *err, size_t errlen)
{
    if (!dns_name_valid(p->value))
        return config_bad_value(err, errlen, p, "is not a DNS name",
                                "use a host name such as my-app.apps.internal");
    return config_dup(out, p->value, err, errlen);
}

int config_parse_tls_mode(const struct picked *p, int *out, char *err, size_t errlen)
{
    static const char *const accepted = "use false, true or auto (auto: on when the instance "
                                        "identity CF_INSTANCE_CERT/KEY exists)";
    bool on = false;
    char ignored[8];
    if (strcasecmp(p->value, "auto") == 0) {
        *out = 2;
        return 0;
    }
    if (config_parse_bool(p, &on, ignored, sizeof ignored) != 0)
        return config_bad_value(err, errlen, p, "is not a known value", accepted);
    *out = on ? 1 : 0;
    return 0;
}

int config_parse_tls_ca_file(const struct picked *p, char **out, char *err, size_t errlen)
{
    static const char *const accepted = "use the absolute path of a PEM file of CA "
                                        "certificates, in printable ASCII";
    if (p->value[0] != '/')
        return config_bad_value(err, errlen, p, "is not an absolute path", accepted);
    for (const unsigned char *c = (const unsigned char *)p->value; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            return config_bad_value(err, errlen, p, "has characters other than printable ASCII",
                                    accepted);
    return config_dup(out, p->value, err, errlen);
}

static bool tls_allow_entry_valid(const char *entry)
{
    return strcasecmp(entry, "space") == 0 || guid_valid(entry);
}

int config_parse_tls_allow(const struct picked *p, char **out, char *err, size_t errlen)
{
    if (parse_list(p, tls_allow_entry_valid, "an app GUID or the word space",
                   "use comma-separated app GUIDs (cf app NAME --guid) and/or space for every "
                   "app of this space",
                   out, err, errlen) != 0)
        return -1;
    for (char *c = *out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return 0;
}

static bool peer_network_entry_valid(const char *entry)
{
    struct cidr c;
    char why[160];
    return cidr_parse(entry, &c, why, sizeof why) == 0;
}

int config_parse_peer_network(const struct picked *p, char **out, char *err, size_t errlen)
{
    return parse_list(p, peer_network_entry_valid,
                      "a network in CIDR notation with no host bits set",
                      "use comma-separated networks like 10.255.0.0/16,fd00::/8 (default: the "
                      "private ranges, which hold Cloud Foundry's container network)",
                      out, err, errlen);
}
