/* Resolution: the outline that takes every setting from the layers (config_layers.c), checks
 * it (config_values.c) and chooses the discovery mode (config_discovery.c). */
#include "common/config.h"
#include "common/secret.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config_discovery.h"
#include "common/env.h"
#include "common/config_layers.h"
#include "common/config_values.h"
#include "common/node_name.h"
#include "common/settings_file.h"
#include "common/vcap.h"

#define CLUSTER_NAME_MAX 128
#define FALLBACK_CLUSTER_NAME "erlang-cluster"

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

const char *cluster_tls_name(enum cluster_tls tls)
{
    switch (tls) {
    case CLUSTER_TLS_OFF: return "false";
    case CLUSTER_TLS_ON: return "true";
    case CLUSTER_TLS_AUTO: return "auto";
    }
    return "unknown";
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

/* Node basenames take [A-Za-z0-9_-]: the cluster name with other characters as '-'. */
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

/* What the platform says about this instance (run time only): its address, GUID and index. */
static int resolve_instance(char *const *env, struct config *cfg, char *err, size_t errlen)
{
    cfg->instance_index = -1;
    const char *ip = env_lookup(env, "CF_INSTANCE_INTERNAL_IP");
    if (ip != NULL && *ip != '\0') {
        if (!ip_literal_valid(ip))
            return set_error(err, errlen,
                             "CF_INSTANCE_INTERNAL_IP: not an IP address; the platform sets "
                             "it to the container's IPv4 or IPv6 address");
        if (config_dup(&cfg->instance_ip, ip, err, errlen) != 0)
            return -1;
    }
    const char *guid = env_lookup(env, "INSTANCE_GUID");
    if (guid == NULL || *guid == '\0')
        guid = env_lookup(env, "CF_INSTANCE_GUID");
    if (guid != NULL && *guid != '\0') {
        if (!config_all_chars_in(guid, "-_.") || strlen(guid) > 128)
            return set_error(err, errlen,
                             "INSTANCE_GUID / CF_INSTANCE_GUID: not an instance GUID; "
                             "expected letters, digits and dashes");
        if (config_dup(&cfg->instance_guid, guid, err, errlen) != 0)
            return -1;
    }
    /* The instance identity's files; whether they are usable is the launch step's call. */
    const char *cert = env_lookup(env, "CF_INSTANCE_CERT");
    const char *key = env_lookup(env, "CF_INSTANCE_KEY");
    if ((cert != NULL && *cert != '\0' && config_dup(&cfg->instance_cert, cert, err, errlen) != 0) ||
        (key != NULL && *key != '\0' && config_dup(&cfg->instance_key, key, err, errlen) != 0))
        return -1;
    const char *index = env_lookup(env, "CF_INSTANCE_INDEX");
    if (index != NULL && *index != '\0') {
        struct picked p = {.value = index, .source = SOURCE_ENV};
        snprintf(p.origin, sizeof p.origin, "CF_INSTANCE_INDEX");
        if (config_parse_int(&p, 0, 100000, &cfg->instance_index, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Picks field f into p and records where its value came from. */
static void pick_into(const struct config_layers *l, struct config *cfg, enum config_field f,
                      struct picked *p)
{
    config_pick(l, f, p);
    cfg->source[f] = p->source;
}

/* The buildpack's name and version, and the raw values config.yml carries to run time. */
static int keep_inputs(const struct config_layers *l, struct config *cfg, char *err,
                       size_t errlen)
{
    const char *name = l->manifest.name != NULL ? l->manifest.name : l->staged.name;
    const char *version = l->manifest.version != NULL ? l->manifest.version : l->staged.version;
    if ((name != NULL && config_dup(&cfg->buildpack_name, name, err, errlen) != 0) ||
        (version != NULL && config_dup(&cfg->buildpack_version, version, err, errlen) != 0))
        return -1;
    for (int f = 0; f < FIELD_COUNT; f++) {
        const char *def = config_layers_default(l, f);
        if ((f != FIELD_COOKIE && l->env[f] != NULL &&
             config_dup(&cfg->env_values[f], l->env[f], err, errlen) != 0) ||
            (def != NULL && config_dup(&cfg->default_values[f], def, err, errlen) != 0))
            return -1;
    }
    return 0;
}

static int resolve_disable(const struct config_layers *l, struct config *cfg, char *err,
                           size_t errlen)
{
    struct picked p;
    pick_into(l, cfg, FIELD_DISABLE, &p);
    return config_parse_bool(&p, &cfg->disabled, err, errlen);
}

/* VCAP_APPLICATION into cfg; VCAP_SERVICES into services, whose registry and cookie the
 * later steps take. */
static int read_platform(const struct config_inputs *in, struct config *cfg,
                         struct vcap_services *services, char *err, size_t errlen)
{
    struct vcap_application app;
    if (vcap_application_parse(env_lookup(in->env, "VCAP_APPLICATION"), &app, err,
                               errlen) != 0)
        return -1;
    cfg->app_name = app.name;
    cfg->app_id = app.id;
    cfg->process_type = app.process_type;
    cfg->space_id = app.space_id;
    cfg->app_uris = app.uris;
    return vcap_services_parse(env_lookup(in->env, "VCAP_SERVICES"), services, err,
                               errlen);
}

/* The node's port, and whether epmd runs (which then owns its own port). */
static int resolve_distribution(const struct config_layers *l, struct config *cfg, char *err,
                                size_t errlen)
{
    struct picked port, epmd;
    pick_into(l, cfg, FIELD_DIST_PORT, &port);
    if (config_parse_int(&port, CONFIG_PORT_MIN, CONFIG_PORT_MAX, &cfg->dist_port, err,
                         errlen) != 0)
        return -1;
    pick_into(l, cfg, FIELD_EPMD, &epmd);
    if (config_parse_bool(&epmd, &cfg->epmd, err, errlen) != 0)
        return -1;
    if (cfg->epmd && cfg->dist_port == EPMD_PORT)
        return config_bad_value(err, errlen, &port, "is epmd's own port",
                                "choose another port for the node (default 9001)");
    return 0;
}

static int resolve_intervals(const struct config_layers *l, struct config *cfg, char *err,
                             size_t errlen)
{
    struct picked p;
    pick_into(l, cfg, FIELD_POLL_INTERVAL, &p);
    if (config_parse_int(&p, CONFIG_POLL_MIN, CONFIG_POLL_MAX, &cfg->poll_interval, err,
                         errlen) != 0)
        return -1;
    pick_into(l, cfg, FIELD_HEARTBEAT_INTERVAL, &p);
    if (config_parse_int(&p, CONFIG_HEARTBEAT_MIN, CONFIG_HEARTBEAT_MAX,
                         &cfg->heartbeat_interval, err, errlen) != 0)
        return -1;
    pick_into(l, cfg, FIELD_NET_TICKTIME, &p);
    return config_parse_int(&p, CONFIG_TICKTIME_MIN, CONFIG_TICKTIME_MAX, &cfg->net_ticktime,
                            err, errlen);
}

/* The log level and the start style: names from a fixed set. */
static int resolve_choices(const struct config_layers *l, struct config *cfg, char *err,
                           size_t errlen)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    static const char *const styles[] = {"auto", "erl", "mix-release", "relx"};
    struct picked p;
    int choice = 0;
    pick_into(l, cfg, FIELD_LOG_LEVEL, &p);
    if (strcasecmp(p.value, "warning") == 0)
        choice = LOG_LEVEL_WARN;
    else if (config_parse_choice(&p, levels, 4, "use error, warn, info or debug", &choice, err,
                                 errlen) != 0)
        return -1;
    cfg->log_level = (enum log_level)choice;
    pick_into(l, cfg, FIELD_START_STYLE, &p);
    if (config_parse_choice(&p, styles, 4, "use auto, erl, mix-release or relx", &choice, err,
                            errlen) != 0)
        return -1;
    cfg->start_style = (enum start_style)choice;
    return 0;
}

/* TLS distribution: the mode, the CA file and the peers allowed besides this app. Whether
 * the identity is there is decided at launch (launch/tls_setup.c). */
static int resolve_tls(const struct config_layers *l, struct config *cfg, char *err,
                       size_t errlen)
{
    struct picked p;
    int mode = CLUSTER_TLS_OFF;
    pick_into(l, cfg, FIELD_TLS, &p);
    if (config_parse_tls_mode(&p, &mode, err, errlen) != 0)
        return -1;
    cfg->tls = (enum cluster_tls)mode;
    pick_into(l, cfg, FIELD_TLS_CA_FILE, &p);
    if (p.value != NULL && config_parse_tls_ca_file(&p, &cfg->tls_ca_file, err, errlen) != 0)
        return -1;
    pick_into(l, cfg, FIELD_TLS_ALLOW, &p);
    if (p.value != NULL && config_parse_tls_allow(&p, &cfg->tls_allow, err, errlen) != 0)
        return -1;
    return 0;
}

/* What the discovery modes work from: the process types that cluster, the static peers, the
 * DNS name and servers, and the registry binding asked for. */
static int resolve_discovery_inputs(const struct config_layers *l, struct config *cfg,
                                    char *err, size_t errlen)
{
    struct picked p;
    pick_into(l, cfg, FIELD_PROCESS_TYPES, &p);
    if (config_parse_process_types(&p, &cfg->process_types, err, errlen) != 0)
        return -1;
    pick_into(l, cfg, FIELD_PEERS, &p);
    if (p.value != NULL && config_parse_peers(&p, &cfg->peers, err, errlen) != 0)
        return -1;
    pick_into(l, cfg, FIELD_DNS_QUERY, &p);
    if (p.value != NULL && config_parse_dns_query(&p, &cfg->dns_query, err, errlen) != 0)
        return -1;
    pick_into(l, cfg, FIELD_DNS_SERVERS, &p);
    if (p.value != NULL && config_parse_dns_servers(&p, &cfg->dns_servers, err, errlen) != 0)
        return -1;
    pick_into(l, cfg, FIELD_PEER_NETWORK, &p);
    if (p.value != NULL && config_parse_peer_network(&p, &cfg->peer_network, err, errlen) != 0)
        return -1;
    pick_into(l, cfg, FIELD_SERVICE, &p);
    if (p.value != NULL && config_dup(&cfg->service_name, p.value, err, errlen) != 0)
        return -1;
    return 0;
}

/* The cluster name (default: from the app's name) and the node basename (default: from the
 * cluster name). */
static int resolve_names(const struct config_layers *l, struct config *cfg, char *err,
                         size_t errlen)
{
    struct picked p;
    config_pick(l, FIELD_NAME, &p);
    if (p.value != NULL) {
        if (strlen(p.value) > CLUSTER_NAME_MAX || !config_all_chars_in(p.value, ".-"))
            return config_bad_value(err, errlen, &p, "is not a valid cluster name",
                                    "use 1 to 128 letters, digits, dots and dashes");
        if (config_dup(&cfg->cluster_name, p.value, err, errlen) != 0)
            return -1;
        cfg->source[FIELD_NAME] = p.source;
    } else {
        cfg->cluster_name = cfg->app_name != NULL && *cfg->app_name != '\0'
                                ? cluster_name_from_app(cfg->app_name)
                                : strdup(FALLBACK_CLUSTER_NAME);
        if (cfg->cluster_name == NULL)
            return set_error(err, errlen, "configuration: out of memory");
        cfg->source[FIELD_NAME] = cfg->app_name != NULL ? SOURCE_APP : SOURCE_BUILTIN;
    }

    config_pick(l, FIELD_NODE_BASENAME, &p);
    if (p.value != NULL) {
        if (!node_basename_valid(p.value))
            return config_bad_value(err, errlen, &p, "is not a valid node basename",
                                    "use 1 to 64 letters, digits, '_' and '-'");
        if (config_dup(&cfg->node_basename, p.value, err, errlen) != 0)
            return -1;
        cfg->source[FIELD_NODE_BASENAME] = p.source;
    } else {
        cfg->node_basename = basename_from_cluster(cfg->cluster_name);
        if (cfg->node_basename == NULL)
            return set_error(err, errlen, "configuration: out of memory");
        cfg->source[FIELD_NODE_BASENAME] = cfg->source[FIELD_NAME];
    }
    return 0;
}

/* ERLANG_CLUSTER_COOKIE of the current environment (never a file's), else a bound service's
 * cookie (moved out of services), else the one the buildpack generates. */
static int resolve_cookie(const struct config_layers *l, struct config *cfg,
                          struct vcap_services *services, char *err, size_t errlen)
{
    const char *cookie = l->env[FIELD_COOKIE];
    if (cookie != NULL) {
        if (!cookie_text_valid(cookie))
            return set_error(err, errlen,
                             "ERLANG_CLUSTER_COOKIE: not a usable cookie (value not shown); "
                             "use 1 to %d printable ASCII characters without spaces",
                             COOKIE_TEXT_MAX);
        if (config_dup(&cfg->cookie, cookie, err, errlen) != 0)
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
    return 0;
}

/* Each step reads its settings in a fixed order, so the first invalid one is reported. */
static int resolve(const struct config_inputs *in, const struct config_layers *l,
                   struct config *cfg, struct vcap_services *services, char *err, size_t errlen)
{
    if (keep_inputs(l, cfg, err, errlen) != 0 || resolve_disable(l, cfg, err, errlen) != 0)
        return -1;
    if (cfg->disabled)
        return 0; /* nothing else is read: a broken setting must not stop a disabled app */
    if (read_platform(in, cfg, services, err, errlen) != 0 ||
        resolve_distribution(l, cfg, err, errlen) != 0 ||
        resolve_intervals(l, cfg, err, errlen) != 0 ||
        resolve_choices(l, cfg, err, errlen) != 0 ||
        resolve_tls(l, cfg, err, errlen) != 0 ||
        resolve_discovery_inputs(l, cfg, err, errlen) != 0 ||
        resolve_names(l, cfg, err, errlen) != 0 ||
        resolve_cookie(l, cfg, services, err, errlen) != 0 ||
        config_choose_discovery(l, cfg, services, err, errlen) != 0)
        return -1;
    return resolve_instance(in->env, cfg, err, errlen);
}

int config_resolve(const struct config_inputs *in, struct config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->instance_index = -1;
    struct config_layers layers;
    struct vcap_services services = {0};
    int rc = config_layers_load(in, &layers, err, errlen);
    if (rc == 0)
        rc = resolve(in, &layers, cfg, &services, err, errlen);
    if (rc == 0 && cfg->app_uris == NULL && !cfg->disabled) {
        cfg->app_uris = calloc(1, sizeof *cfg->app_uris);
        if (cfg->app_uris == NULL)
            rc = set_error(err, errlen, "configuration: out of memory");
    }
    vcap_services_free(&services);
    config_layers_free(&layers);
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
    free(cfg->space_id);
    free(cfg->tls_ca_file);
    free(cfg->tls_allow);
    free(cfg->peer_network);
    free(cfg->instance_cert);
    free(cfg->instance_key);
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
