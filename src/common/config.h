/* The buildpack's configuration: one struct, resolved once from every input, each value
 * remembering where it came from so the staging report can say why.
 *
 * Precedence, highest first: ERLANG_CLUSTER_* at run time, the same variables captured at
 * staging (config.yml in the droplet), a bound service's credentials, the buildpack's
 * manifest.yml defaults. Nothing below this module reads the environment. */
#ifndef ECB_CONFIG_H
#define ECB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum config_source {
    SOURCE_BUILTIN,     /* compiled-in fallback when manifest.yml has no default */
    SOURCE_MANIFEST,    /* the buildpack's manifest.yml defaults */
    SOURCE_SERVICE,     /* a bound service's credentials (VCAP_SERVICES) */
    SOURCE_STAGING_ENV, /* ERLANG_CLUSTER_* captured at staging (config.yml) */
    SOURCE_ENV,         /* ERLANG_CLUSTER_* in the current environment */
    SOURCE_APP,         /* derived from VCAP_APPLICATION or the app's files */
    SOURCE_GENERATED,   /* made by the buildpack (the per-droplet cookie) */
};

enum discovery_mode {
    DISCOVERY_AUTO,
    DISCOVERY_EUREKA,
    DISCOVERY_DNS,
    DISCOVERY_STATIC,
    DISCOVERY_NONE,
};

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* A bound Eureka registry, taken from VCAP_SERVICES. Secrets live only in memory. */
struct registry_binding {
    char *binding_name;     /* name of the binding, for messages */
    char *uri;              /* base URI without /eureka */
    char *client_id;        /* NULL when the registry takes no OAuth2 */
    char *client_secret;    /* secret */
    char *access_token_uri; /* NULL when the registry takes no OAuth2 */
};

struct config {
    bool disabled;                       /* ERLANG_CLUSTER_DISABLE */
    enum discovery_mode discovery;       /* never AUTO after resolution */
    const char *discovery_reason;        /* static text: why this mode was chosen */
    char *cluster_name;                  /* ERLANG_CLUSTER_NAME, default: app name */
    char *node_basename;                 /* ERLANG_CLUSTER_NODE_BASENAME */
    int dist_port;                       /* ERLANG_CLUSTER_DIST_PORT, 1024..65535 */
    bool epmd;                           /* ERLANG_CLUSTER_EPMD */
    char *service_name;                  /* ERLANG_CLUSTER_SERVICE */
    char *dns_query;                     /* ERLANG_CLUSTER_DNS_QUERY */
    char *peers;                         /* ERLANG_CLUSTER_PEERS, comma-separated, validated */
    int poll_interval;                   /* seconds, ERLANG_CLUSTER_POLL_INTERVAL */
    int heartbeat_interval;              /* seconds, ERLANG_CLUSTER_HEARTBEAT_INTERVAL */
    int net_ticktime;                    /* seconds, ERLANG_CLUSTER_NET_TICKTIME */
    char *process_types;                 /* ERLANG_CLUSTER_PROCESS_TYPES, comma-separated */
    enum log_level log_level;            /* ERLANG_CLUSTER_LOG_LEVEL */

    char *cookie;                        /* secret; NULL when only the droplet's file has it */

    /* From VCAP_APPLICATION. */
    char *app_name;
    char *app_id;
    char *process_type;                  /* run time only */
    char **app_uris;                     /* NULL-terminated */

    /* Run time only, from the platform's CF_INSTANCE_* / INSTANCE_GUID. */
    char *instance_ip;                   /* CF_INSTANCE_INTERNAL_IP */
    char *instance_guid;                 /* INSTANCE_GUID or CF_INSTANCE_GUID */
    int instance_index;                  /* CF_INSTANCE_INDEX, -1 when unknown */

    bool has_registry;
    struct registry_binding registry;

    /* Where each setting came from, indexed by enum config_field. */
    enum config_source source[16];
};

enum config_field {
    FIELD_DISABLE,
    FIELD_DISCOVERY,
    FIELD_NAME,
    FIELD_NODE_BASENAME,
    FIELD_COOKIE,
    FIELD_DIST_PORT,
    FIELD_EPMD,
    FIELD_SERVICE,
    FIELD_DNS_QUERY,
    FIELD_PEERS,
    FIELD_POLL_INTERVAL,
    FIELD_HEARTBEAT_INTERVAL,
    FIELD_NET_TICKTIME,
    FIELD_PROCESS_TYPES,
    FIELD_LOG_LEVEL,
    FIELD_COUNT
};

/* What to resolve from. Staging: manifest_path set, staged_config_path NULL.
 * Run time: staged_config_path set (deps/IDX/config.yml), manifest_path NULL. */
struct config_inputs {
    char *const *env;               /* NULL-terminated "NAME=value" array, e.g. environ */
    const char *manifest_path;
    const char *staged_config_path;
};

/* Fills *cfg. On invalid input returns -1 and writes one line into err naming the variable
 * or file, what is wrong and the accepted form (never a secret value). */
int config_resolve(const struct config_inputs *in, struct config *cfg, char *err, size_t errlen);
void config_free(struct config *cfg);
const char *config_source_name(enum config_source source);
const char *discovery_mode_name(enum discovery_mode mode);

#endif
