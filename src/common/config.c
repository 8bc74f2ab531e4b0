#include "common/config.h"
#include "common/secret.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/node_name.h"
#include "common/settings_file.h"
#include "common/vcap.h"

#define CLUSTER_NAME_MAX 128
#define FALLBACK_CLUSTER_NAME "erlang-cluster"
#define INET6_TEXT_MAX 45 /* the longest IPv6 literal, as inet_ntop's INET6_ADDRSTRLEN - 1 */

const char *config_source_name(enum config_source source)
{
    switch (source) {
    case SOURCE_BUILTIN: return "built-in default";
    case SOURCE_MANIFEST: return "buildpack default";
    case SOURCE_SERVICE: return "bound service";
    case SOURCE_STAGING_ENV: return "environment at staging";
    case SOURCE_ENV: return "environment";
    case SOURCE_APP: return "app";
    case SOURCE_GENERATED: return "generated";
    }
    return "unknown";
}

const char *discovery_mode_name(enum discovery_mode mode)
{
    switch (mode) {
    case DISCOVERY_AUTO: return "auto";
    case DISCOVERY_EUREKA: return "eureka";
    case DISCOVERY_DNS: return "dns";
    case DISCOVERY_STATIC: return "static";
    case DISCOVERY_NONE: return "none";
    }
    return "unknown";
}

const char *start_style_name(enum start_style style)
{
    switch (style) {
    case START_STYLE_AUTO: return "auto";
    case START_STYLE_ERL: return "erl";
    case START_STYLE_MIX_RELEASE: return "mix-release";
    case START_STYLE_RELX: return "relx";
    }
    return "unknown";
}

/* Everything resolution reads, gathered first so that each field is then one lookup. */
struct layers {
    const struct config_inputs *in;
    char *env[FIELD_COUNT];      /* trimmed, NULL when unset or empty */
    struct settings_file staged; /* config.yml (run time) */
    struct settings_file manifest;
    const char *defaults_path;   /* the file default values came from */
};

/* The value a field resolves to before validation, and how to name it in a message. */
struct picked {
    const char *value;
    enum config_source source;
    char origin[320];
};

static char *trimmed_copy(const char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
                       text[len - 1] == '\r'))
        len--;
    return strndup(text, len);
}

static const char *env_lookup(char *const *env, const char *name)
{
    if (env == NULL)
        return NULL;
    size_t len = strlen(name);
    for (char *const *p = env; *p != NULL; p++)
        if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
            return *p + len + 1;
    return NULL;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* A user's value quoted in a message: bounded and free of control characters. */
static void quote_value(const char *value, char *out, size_t outlen)
{
    size_t j = 0, i = 0;
    for (; value[i] != '\0' && j + 4 < outlen && i < 60; i++)
        out[j++] = isprint((unsigned char)value[i]) ? value[i] : '?';
    if (value[i] != '\0' && j + 4 < outlen) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
}

static int bad_value(char *err, size_t errlen, const struct picked *p, const char *problem,
                     const char *accepted)
{
    char shown[80];
    quote_value(p->value, shown, sizeof shown);
    return fail(err, errlen, "%s: \"%s\" %s; %s", p->origin, shown, problem, accepted);
}

static void pick(const struct layers *l, enum config_field f, struct picked *p)
{
    const char *var = config_field_variable(f);
    memset(p, 0, sizeof *p);
    if (l->env[f] != NULL) {
        p->value = l->env[f];
        p->source = SOURCE_ENV;
        snprintf(p->origin, sizeof p->origin, "%s", var);
    } else if (l->staged.env[f] != NULL) {
        p->value = l->staged.env[f];
        p->source = SOURCE_STAGING_ENV;
        snprintf(p->origin, sizeof p->origin, "%s (set at staging, in %s)", var,
                 l->in->staged_config_path);
    } else if (l->manifest.defaults[f] != NULL || l->staged.defaults[f] != NULL) {
        p->value = l->manifest.defaults[f] != NULL ? l->manifest.defaults[f]
                                                   : l->staged.defaults[f];
        p->source = SOURCE_MANIFEST;
        snprintf(p->origin, sizeof p->origin, "%s: defaults.%s", l->defaults_path, var);
    } else {
        p->value = config_field_builtin(f);
        p->source = SOURCE_BUILTIN;
        snprintf(p->origin, sizeof p->origin, "%s", var);
    }
}

static int parse_bool(const struct picked *p, bool *out, char *err, size_t errlen)
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
    return bad_value(err, errlen, p, "is not a boolean", "use true or false (also 1/0, yes/no)");
}

static int parse_int(const struct picked *p, long min, long max, int *out, char *err,
                     size_t errlen)
{
    char accepted[96];
    snprintf(accepted, sizeof accepted, "use a whole number from %ld to %ld", min, max);
    const char *s = p->value;
    if (*s == '\0' || !(isdigit((unsigned char)*s) || (*s == '-' && isdigit((unsigned char)s[1]))))
        return bad_value(err, errlen, p, "is not a number", accepted);
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end != '\0')
        return bad_value(err, errlen, p, "is not a number", accepted);
    if (errno == ERANGE || v < min || v > max)
        return bad_value(err, errlen, p, "is out of range", accepted);
    *out = (int)v;
    return 0;
}

static bool all_chars_in(const char *s, const char *extra)
{
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
            return false;
    return true;
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
        return fail(err, errlen, "%s: out of memory", p->origin);
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
            rc = bad_value(err, errlen, p, "has an empty entry", accepted);
            break;
        }
        if (!valid(entry)) {
            char shown[80], problem[160];
            quote_value(entry, shown, sizeof shown);
            snprintf(problem, sizeof problem, "has \"%s\", which is not %s", shown, what);
            rc = bad_value(err, errlen, p, problem, accepted);
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
    return strlen(entry) <= 64 && all_chars_in(entry, "_-");
}

static int dup_into(char **dst, const char *src, char *err, size_t errlen)
{
    *dst = strdup(src);
    return *dst == NULL ? fail(err, errlen, "configuration: out of memory") : 0;
}

static void free_layers(struct layers *l)
{
    for (int f = 0; f < FIELD_COUNT; f++)
        free(l->env[f]);
    settings_file_free(&l->staged);
    settings_file_free(&l->manifest);
}

static int load_layers(const struct config_inputs *in, struct layers *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    l->in = in;
    for (int f = 0; f < FIELD_COUNT; f++) {
        const char *raw = env_lookup(in->env, config_field_variable(f));
        if (raw == NULL)
            continue;
        l->env[f] = trimmed_copy(raw);
        if (l->env[f] == NULL)
            return fail(err, errlen, "configuration: out of memory");
        if (l->env[f][0] == '\0') {
            free(l->env[f]);
            l->env[f] = NULL;
        }
    }
    if (in->manifest_path != NULL) {
        l->defaults_path = in->manifest_path;
        if (manifest_read(in->manifest_path, &l->manifest, err, errlen) != 0)
            return -1;
    }
    if (in->staged_config_path != NULL) {
        l->defaults_path = in->staged_config_path;
        if (staged_config_read(in->staged_config_path, &l->staged, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* A settings value with a fixed set of names. */
static int parse_choice(const struct picked *p, const char *const *names, size_t count,
                        const char *accepted, int *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < count; i++)
        if (names[i] != NULL && strcasecmp(p->value, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    return bad_value(err, errlen, p, "is not a known value", accepted);
}

/* Cluster names follow the registry's app-name rule: [0-9A-Za-z.-]. */
static char *cluster_name_from_app(const char *app_name)
{
    size_t len = strlen(app_name);
    if (len > CLUSTER_NAME_MAX)
        len = CLUSTER_NAME_MAX;
    char *name = strndup(app_name, len);
    if (name == NULL)
        return NULL;
    for (char *c = name; *c != '\0'; c++)
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-')
            *c = '-';
    return name;
}

static char *basename_from_cluster(const char *cluster)
{
    size_t len = strlen(cluster);
    if (len > NODE_BASENAME_MAX)
        len = NODE_BASENAME_MAX;
    char *base = strndup(cluster, len);
    if (base == NULL)
        return NULL;
    for (char *c = base; *c != '\0'; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
            *c = '-';
    return base;
}

/* The host part of an app route ("h.apps.internal" from "h.apps.internal/path"). */
static char *internal_route(char *const *uris)
{
    static const char suffix[] = ".apps.internal";
    for (char *const *u = uris; u != NULL && *u != NULL; u++) {
        size_t host_len = strcspn(*u, "/:");
        if (host_len > sizeof suffix - 1 &&
            strncasecmp(*u + host_len - (sizeof suffix - 1), suffix, sizeof suffix - 1) == 0) {
            char *host = strndup(*u, host_len);
            if (host != NULL && dns_name_valid(host))
                return host;
            free(host);
        }
    }
    return NULL;
}

static int set_reason(struct config *cfg, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int set_reason(struct config *cfg, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&cfg->discovery_reason, fmt, ap);
    va_end(ap);
    if (n < 0) {
        cfg->discovery_reason = NULL;
        return fail(err, errlen, "configuration: out of memory");
    }
    return 0;
}

static int resolve_registry(struct config *cfg, struct vcap_services *services, char *err,
                            size_t errlen)
{
    long index = vcap_services_select_registry(services, cfg->service_name, err, errlen);
    if (index == -2)
        return -1;
    if (index < 0)
        return 0;
    /* Move the chosen binding into cfg so that its secrets have one owner. */
    struct vcap_registry *chosen = &services->registries[index];
    cfg->registry = chosen->binding;
    memset(&chosen->binding, 0, sizeof chosen->binding);
    cfg->has_registry = true;
    return 0;
}

static int resolve_discovery(struct config *cfg, int requested, const struct picked *mode_pick,
                             struct vcap_services *services, char *err, size_t errlen)
{
    bool wants_registry = requested == DISCOVERY_AUTO || requested == DISCOVERY_EUREKA;
    if (wants_registry && resolve_registry(cfg, services, err, errlen) != 0)
        return -1;
    char *route = internal_route(cfg->app_uris);
    int rc = 0;
    /* Names from VCAP_* as messages show them: bounded, one printable line. */
    char app[80], registry[80];
    quote_value(cfg->app_name != NULL ? cfg->app_name : "APP", app, sizeof app);
    quote_value(cfg->has_registry ? cfg->registry.binding_name : "", registry, sizeof registry);
    switch (requested) {
    case DISCOVERY_EUREKA:
        if (!cfg->has_registry) {
            rc = fail(err, errlen,
                      "%s is eureka but no Eureka registry is bound; bind one (cf bind-service "
                      "%s REGISTRY, a service tagged eureka) or use auto, dns, static or none",
                      mode_pick->origin, app);
            break;
        }
        cfg->discovery = DISCOVERY_EUREKA;
        rc = set_reason(cfg, err, errlen, "%s is eureka (registry \"%s\")", mode_pick->origin,
                        registry);
        break;
    case DISCOVERY_DNS:
        if (cfg->dns_query == NULL && route == NULL) {
            rc = fail(err, errlen,
                      "%s is dns but there is nothing to resolve; set ERLANG_CLUSTER_DNS_QUERY "
                      "or map an internal route (cf map-route %s apps.internal --hostname HOST)",
                      mode_pick->origin, app);
            break;
        }
        cfg->discovery = DISCOVERY_DNS;
        rc = set_reason(cfg, err, errlen, "%s is dns", mode_pick->origin);
        break;
    case DISCOVERY_STATIC:
        if (cfg->peers == NULL) {
            rc = fail(err, errlen,
                      "%s is static but ERLANG_CLUSTER_PEERS is not set; set it to a "
                      "comma-separated list of node names or IP addresses",
                      mode_pick->origin);
            break;
        }
        cfg->discovery = DISCOVERY_STATIC;
        rc = set_reason(cfg, err, errlen, "%s is static", mode_pick->origin);
        break;
    case DISCOVERY_NONE:
        cfg->discovery = DISCOVERY_NONE;
        rc = set_reason(cfg, err, errlen, "%s is none", mode_pick->origin);
        break;
    default:
        if (cfg->has_registry) {
            cfg->discovery = DISCOVERY_EUREKA;
            rc = set_reason(cfg, err, errlen, "a Eureka registry is bound (service \"%s\")",
                            registry);
        } else if (cfg->dns_query != NULL) {
            cfg->discovery = DISCOVERY_DNS;
            rc = set_reason(cfg, err, errlen, "ERLANG_CLUSTER_DNS_QUERY is set");
        } else if (route != NULL) {
            cfg->discovery = DISCOVERY_DNS;
            rc = set_reason(cfg, err, errlen, "the app has the internal route %s", route);
        } else if (cfg->peers != NULL) {
            cfg->discovery = DISCOVERY_STATIC;
            rc = set_reason(cfg, err, errlen, "ERLANG_CLUSTER_PEERS is set");
        } else {
            cfg->discovery = DISCOVERY_NONE;
            rc = set_reason(cfg, err, errlen,
                            "no Eureka registry is bound, the app has no apps.internal route, "
                            "and neither ERLANG_CLUSTER_DNS_QUERY nor ERLANG_CLUSTER_PEERS is set");
        }
    }
    if (rc == 0 && cfg->discovery == DISCOVERY_DNS && cfg->dns_query == NULL) {
        cfg->dns_query = route;
        cfg->source[FIELD_DNS_QUERY] = SOURCE_APP;
        route = NULL;
    }
    free(route);
    return rc;
}

static int resolve_instance(char *const *env, struct config *cfg, char *err, size_t errlen)
{
    cfg->instance_index = -1;
    const char *ip = env_lookup(env, "CF_INSTANCE_INTERNAL_IP");
    if (ip != NULL && *ip != '\0') {
        if (!ip_literal_valid(ip))
            return fail(err, errlen,
                        "CF_INSTANCE_INTERNAL_IP: not an IP address; the platform sets it to "
                        "the container's IPv4 or IPv6 address");
        if (dup_into(&cfg->instance_ip, ip, err, errlen) != 0)
            return -1;
    }
    const char *guid = env_lookup(env, "INSTANCE_GUID");
    if (guid == NULL || *guid == '\0')
        guid = env_lookup(env, "CF_INSTANCE_GUID");
    if (guid != NULL && *guid != '\0') {
        if (!all_chars_in(guid, "-_.") || strlen(guid) > 128)
            return fail(err, errlen,
                        "INSTANCE_GUID / CF_INSTANCE_GUID: not an instance GUID; expected "
                        "letters, digits and dashes");
        if (dup_into(&cfg->instance_guid, guid, err, errlen) != 0)
            return -1;
    }
    const char *index = env_lookup(env, "CF_INSTANCE_INDEX");
    if (index != NULL && *index != '\0') {
        struct picked p = {.value = index, .source = SOURCE_ENV};
        snprintf(p.origin, sizeof p.origin, "CF_INSTANCE_INDEX");
        if (parse_int(&p, 0, 100000, &cfg->instance_index, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int resolve(const struct config_inputs *in, struct layers *l, struct config *cfg,
                   struct vcap_services *services, char *err, size_t errlen)
{
    struct picked p;
    const char *name = l->manifest.name != NULL ? l->manifest.name : l->staged.name;
    const char *version = l->manifest.version != NULL ? l->manifest.version : l->staged.version;
    if ((name != NULL && dup_into(&cfg->buildpack_name, name, err, errlen) != 0) ||
        (version != NULL && dup_into(&cfg->buildpack_version, version, err, errlen) != 0))
        return -1;
    for (int f = 0; f < FIELD_COUNT; f++) {
        const char *def = l->manifest.defaults[f] != NULL ? l->manifest.defaults[f]
                                                          : l->staged.defaults[f];
        if ((f != FIELD_COOKIE && l->env[f] != NULL &&
             dup_into(&cfg->env_values[f], l->env[f], err, errlen) != 0) ||
            (def != NULL && dup_into(&cfg->default_values[f], def, err, errlen) != 0))
            return -1;
    }

    pick(l, FIELD_DISABLE, &p);
    cfg->source[FIELD_DISABLE] = p.source;
    if (parse_bool(&p, &cfg->disabled, err, errlen) != 0)
        return -1;
    if (cfg->disabled)
        return 0;

    struct vcap_application app;
    if (vcap_application_parse(env_lookup(in->env, "VCAP_APPLICATION"), &app, err, errlen) != 0)
        return -1;
    cfg->app_name = app.name;
    cfg->app_id = app.id;
    cfg->process_type = app.process_type;
    cfg->app_uris = app.uris;
    if (vcap_services_parse(env_lookup(in->env, "VCAP_SERVICES"), services, err, errlen) != 0)
        return -1;

    pick(l, FIELD_DIST_PORT, &p);
    cfg->source[FIELD_DIST_PORT] = p.source;
    if (parse_int(&p, CONFIG_PORT_MIN, CONFIG_PORT_MAX, &cfg->dist_port, err, errlen) != 0)
        return -1;
    pick(l, FIELD_EPMD, &p);
    cfg->source[FIELD_EPMD] = p.source;
    if (parse_bool(&p, &cfg->epmd, err, errlen) != 0)
        return -1;
    if (cfg->epmd && cfg->dist_port == EPMD_PORT) {
        pick(l, FIELD_DIST_PORT, &p);
        return bad_value(err, errlen, &p, "is epmd's own port",
                         "choose another port for the node (default 9001)");
    }

    pick(l, FIELD_POLL_INTERVAL, &p);
    cfg->source[FIELD_POLL_INTERVAL] = p.source;
    if (parse_int(&p, CONFIG_POLL_MIN, CONFIG_POLL_MAX, &cfg->poll_interval, err, errlen) != 0)
        return -1;
    pick(l, FIELD_HEARTBEAT_INTERVAL, &p);
    cfg->source[FIELD_HEARTBEAT_INTERVAL] = p.source;
    if (parse_int(&p, CONFIG_HEARTBEAT_MIN, CONFIG_HEARTBEAT_MAX, &cfg->heartbeat_interval, err,
                  errlen) != 0)
        return -1;
    pick(l, FIELD_NET_TICKTIME, &p);
    cfg->source[FIELD_NET_TICKTIME] = p.source;
    if (parse_int(&p, CONFIG_TICKTIME_MIN, CONFIG_TICKTIME_MAX, &cfg->net_ticktime, err,
                  errlen) != 0)
        return -1;

    static const char *const levels[] = {"error", "warn", "info", "debug"};
    int choice = 0;
    pick(l, FIELD_LOG_LEVEL, &p);
    cfg->source[FIELD_LOG_LEVEL] = p.source;
    if (strcasecmp(p.value, "warning") == 0)
        choice = LOG_LEVEL_WARN;
    else if (parse_choice(&p, levels, 4, "use error, warn, info or debug", &choice, err,
                          errlen) != 0)
        return -1;
    cfg->log_level = (enum log_level)choice;

    static const char *const styles[] = {"auto", "erl", "mix-release", "relx"};
    pick(l, FIELD_START_STYLE, &p);
    cfg->source[FIELD_START_STYLE] = p.source;
    if (parse_choice(&p, styles, 4, "use auto, erl, mix-release or relx", &choice, err,
                     errlen) != 0)
        return -1;
    cfg->start_style = (enum start_style)choice;

    pick(l, FIELD_PROCESS_TYPES, &p);
    cfg->source[FIELD_PROCESS_TYPES] = p.source;
    if (parse_list(&p, process_type_valid, "a process type name",
                   "use comma-separated process types such as web,worker (default web)",
                   &cfg->process_types, err, errlen) != 0)
        return -1;

    pick(l, FIELD_PEERS, &p);
    cfg->source[FIELD_PEERS] = p.source;
    if (p.value != NULL &&
        parse_list(&p, peer_entry_valid, "a node name (base@host) or an IP address",
                   "use comma-separated long node names like app@10.0.0.5, or IP addresses",
                   &cfg->peers, err, errlen) != 0)
        return -1;

    pick(l, FIELD_DNS_QUERY, &p);
    cfg->source[FIELD_DNS_QUERY] = p.source;
    if (p.value != NULL) {
        if (!dns_name_valid(p.value))
            return bad_value(err, errlen, &p, "is not a DNS name",
                             "use a host name such as my-app.apps.internal");
        if (dup_into(&cfg->dns_query, p.value, err, errlen) != 0)
            return -1;
    }

    pick(l, FIELD_DNS_SERVERS, &p);
    cfg->source[FIELD_DNS_SERVERS] = p.source;
    if (p.value != NULL) {
        if (parse_list(&p, dns_server_entry_valid, "a DNS server address",
                       "use comma-separated IP addresses with an optional port, like "
                       "10.0.0.2, 10.0.0.2:53 or [fd00::2]:53 (default: /etc/resolv.conf)",
                       &cfg->dns_servers, err, errlen) != 0)
            return -1;
        unbracket_portless_ipv6(cfg->dns_servers);
    }

    pick(l, FIELD_SERVICE, &p);
    cfg->source[FIELD_SERVICE] = p.source;
    if (p.value != NULL && dup_into(&cfg->service_name, p.value, err, errlen) != 0)
        return -1;

    pick(l, FIELD_NAME, &p);
    if (p.value != NULL) {
        if (strlen(p.value) > CLUSTER_NAME_MAX || !all_chars_in(p.value, ".-"))
            return bad_value(err, errlen, &p, "is not a valid cluster name",
                             "use 1 to 128 letters, digits, dots and dashes");
        if (dup_into(&cfg->cluster_name, p.value, err, errlen) != 0)
            return -1;
        cfg->source[FIELD_NAME] = p.source;
    } else {
        cfg->cluster_name = cfg->app_name != NULL && *cfg->app_name != '\0'
                                ? cluster_name_from_app(cfg->app_name)
                                : strdup(FALLBACK_CLUSTER_NAME);
        if (cfg->cluster_name == NULL)
            return fail(err, errlen, "configuration: out of memory");
        cfg->source[FIELD_NAME] = cfg->app_name != NULL ? SOURCE_APP : SOURCE_BUILTIN;
    }

    pick(l, FIELD_NODE_BASENAME, &p);
    if (p.value != NULL) {
        if (!node_basename_valid(p.value))
            return bad_value(err, errlen, &p, "is not a valid node basename",
                             "use 1 to 64 letters, digits, '_' and '-'");
        if (dup_into(&cfg->node_basename, p.value, err, errlen) != 0)
            return -1;
        cfg->source[FIELD_NODE_BASENAME] = p.source;
    } else {
        cfg->node_basename = basename_from_cluster(cfg->cluster_name);
        if (cfg->node_basename == NULL)
            return fail(err, errlen, "configuration: out of memory");
        cfg->source[FIELD_NODE_BASENAME] = cfg->source[FIELD_NAME];
    }

    const char *cookie = l->env[FIELD_COOKIE];
    if (cookie != NULL) {
        if (!cookie_text_valid(cookie))
            return fail(err, errlen,
                        "ERLANG_CLUSTER_COOKIE: not a usable cookie (value not shown); use 1 "
                        "to %d printable ASCII characters without spaces",
                        COOKIE_TEXT_MAX);
        if (dup_into(&cfg->cookie, cookie, err, errlen) != 0)
            return -1;
        cfg->source[FIELD_COOKIE] = SOURCE_ENV;
    } else if (services->cookie != NULL) {
        cfg->cookie = services->cookie;
        cfg->cookie_service = services->cookie_service;
        services->cookie = NULL;
        services->cookie_service = NULL;
        cfg->source[FIELD_COOKIE] = SOURCE_SERVICE;
    } else {
        cfg->source[FIELD_COOKIE] = SOURCE_GENERATED;
    }

    static const char *const modes[] = {"auto", "eureka", "dns", "static", "none"};
    struct picked mode_pick;
    pick(l, FIELD_DISCOVERY, &mode_pick);
    cfg->source[FIELD_DISCOVERY] = mode_pick.source;
    if (parse_choice(&mode_pick, modes, 5, "use auto, eureka, dns, static or none", &choice, err,
                     errlen) != 0)
        return -1;
    if (resolve_discovery(cfg, choice, &mode_pick, services, err, errlen) != 0)
        return -1;

    return resolve_instance(in->env, cfg, err, errlen);
}

int config_resolve(const struct config_inputs *in, struct config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->instance_index = -1;
    struct layers layers;
    struct vcap_services services = {0};
    int rc = load_layers(in, &layers, err, errlen);
    if (rc == 0)
        rc = resolve(in, &layers, cfg, &services, err, errlen);
    if (rc == 0 && cfg->app_uris == NULL && !cfg->disabled) {
        cfg->app_uris = calloc(1, sizeof *cfg->app_uris);
        if (cfg->app_uris == NULL)
            rc = fail(err, errlen, "configuration: out of memory");
    }
    vcap_services_free(&services);
    free_layers(&layers);
    if (rc != 0) {
        config_free(cfg);
        return -1;
    }
    return 0;
}

void config_free(struct config *cfg)
{
    free(cfg->discovery_reason);
    free(cfg->cluster_name);
    free(cfg->node_basename);
    free(cfg->service_name);
    free(cfg->dns_query);
    free(cfg->dns_servers);
    free(cfg->peers);
    free(cfg->process_types);
    secret_free(cfg->cookie);
    free(cfg->cookie_service);
    free(cfg->buildpack_name);
    free(cfg->buildpack_version);
    free(cfg->app_name);
    free(cfg->app_id);
    free(cfg->process_type);
    if (cfg->app_uris != NULL)
        for (char **u = cfg->app_uris; *u != NULL; u++)
            free(*u);
    free(cfg->app_uris);
    free(cfg->instance_ip);
    free(cfg->instance_guid);
    free(cfg->registry.binding_name);
    free(cfg->registry.uri);
    free(cfg->registry.client_id);
    secret_free(cfg->registry.client_secret);
    free(cfg->registry.access_token_uri);
    for (int f = 0; f < FIELD_COUNT; f++) {
        free(cfg->env_values[f]);
        free(cfg->default_values[f]);
    }
    memset(cfg, 0, sizeof *cfg);
    cfg->instance_index = -1;
}

int config_write_staged(const struct config *cfg, const char *path, char *err, size_t errlen)
{
    struct settings_file file;
    memset(&file, 0, sizeof file);
    file.name = cfg->buildpack_name;
    file.version = cfg->buildpack_version;
    for (int f = 0; f < FIELD_COUNT; f++) {
        file.env[f] = f == FIELD_COOKIE ? NULL : cfg->env_values[f];
        file.defaults[f] = f == FIELD_COOKIE ? NULL : cfg->default_values[f];
    }
    return staged_config_write(path, &file, err, errlen);
}

char *registry_app_name(const char *cluster_name)
{
    char *app = strdup(cluster_name);
    if (app == NULL)
        return NULL;
    for (char *p = app; *p; p++) {
        unsigned char c = (unsigned char)*p;
        *p = (isalnum(c) || c == '.' || c == '-') && c < 128 ? (char)toupper(c) : '-';
    }
    return app;
}
