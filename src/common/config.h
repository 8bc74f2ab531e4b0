/* The buildpack's configuration: one struct, resolved once from every input, each value
 * remembering where it came from so the staging report can say why.
 *
 * Precedence, highest first: ERLANG_CLUSTER_* in the current environment, the same variables
 * captured at staging (config.yml in the droplet), a bound service's credentials, the
 * defaults (the buildpack's manifest.yml at staging, their copy in config.yml at run time),
 * then the compiled-in fallbacks. An empty variable counts as unset. Nothing below this
 * module reads the environment. */
#ifndef ECB_CONFIG_H
#define ECB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config_fields.h"
#include "common/log.h"

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

/* How the app's BEAM is started; AUTO lets the launch step detect it from the start command. */
enum start_style { START_STYLE_AUTO, START_STYLE_ERL, START_STYLE_MIX_RELEASE, START_STYLE_RELX };

/* ERLANG_CLUSTER_TLS: whether distribution runs over mutual TLS with the instance identity;
 * AUTO decides at launch (on when the identity files exist). */
enum cluster_tls { CLUSTER_TLS_OFF, CLUSTER_TLS_ON, CLUSTER_TLS_AUTO };

/* Accepted ranges, shared with messages and docs. */
#define CONFIG_PORT_MIN 1024
#define CONFIG_PORT_MAX 65535
#define CONFIG_POLL_MIN 1
#define CONFIG_POLL_MAX 600
#define CONFIG_HEARTBEAT_MIN 1
#define CONFIG_HEARTBEAT_MAX 60 /* renewals must come well inside Eureka's 90 s lease */
#define CONFIG_TICKTIME_MIN 4
#define CONFIG_TICKTIME_MAX 3600
#define EPMD_PORT 4369

/* A bound Eureka registry, taken from VCAP_SERVICES. Secrets live only in memory. */
struct registry_binding {
    char *binding_name;     /* name of the binding, for messages */
    char *uri;              /* base URI without /eureka; NULL while credentials are a
                               credhub-ref not yet resolved (staging) */
    char *client_id;        /* NULL when the registry takes no OAuth2 */
    char *client_secret;    /* secret */
    char *access_token_uri; /* NULL when the registry takes no OAuth2 */
};

struct config {
    bool disabled;                       /* ERLANG_CLUSTER_DISABLE */
    enum discovery_mode discovery;       /* never AUTO after resolution */
    char *discovery_reason;              /* why this mode was chosen, in words */
    char *cluster_name;                  /* ERLANG_CLUSTER_NAME, default: app name */
    char *node_basename;                 /* ERLANG_CLUSTER_NODE_BASENAME */
    int dist_port;                       /* ERLANG_CLUSTER_DIST_PORT, 1024..65535 */
    bool epmd;                           /* ERLANG_CLUSTER_EPMD */
    char *service_name;                  /* ERLANG_CLUSTER_SERVICE */
    char *dns_query;                     /* ERLANG_CLUSTER_DNS_QUERY */
    char *dns_servers;                   /* ERLANG_CLUSTER_DNS_SERVERS: comma-separated
                                            ip, ip:port or [ipv6]:port (c-ares's form);
                                            NULL: the container's /etc/resolv.conf */
    char *peers;                         /* ERLANG_CLUSTER_PEERS, comma-separated, validated */
    int poll_interval;                   /* seconds, ERLANG_CLUSTER_POLL_INTERVAL */
    int heartbeat_interval;              /* seconds, ERLANG_CLUSTER_HEARTBEAT_INTERVAL */
    int net_ticktime;                    /* seconds, ERLANG_CLUSTER_NET_TICKTIME */
    char *process_types;                 /* ERLANG_CLUSTER_PROCESS_TYPES, comma-separated */
    enum log_level log_level;            /* ERLANG_CLUSTER_LOG_LEVEL */
    enum start_style start_style;        /* ERLANG_CLUSTER_START_STYLE */
    enum cluster_tls tls;                /* ERLANG_CLUSTER_TLS */
    char *tls_ca_file;                   /* ERLANG_CLUSTER_TLS_CA_FILE, absolute; NULL: the
                                            instance certificate file (its issuer) */
    char *peer_network;                  /* ERLANG_CLUSTER_PEER_NETWORK: CIDRs, comma-
                                            separated; NULL: CIDR_DEFAULT_PEER_NETWORK */
    char *tls_allow;                     /* ERLANG_CLUSTER_TLS_ALLOW: lower-case app GUIDs
                                            and/or "space", comma-separated; NULL: none */

    char *cookie;                        /* secret; NULL when only the droplet's file has it */
    char *cookie_service;                /* binding that gave the cookie, when source SERVICE */

    char *buildpack_name;                /* manifest.yml language / config.yml name */
    char *buildpack_version;             /* manifest.yml version / config.yml version */

    /* From VCAP_APPLICATION. */
    char *app_name;
    char *app_id;
    char *process_type;                  /* run time only */
    char *space_id;                      /* the app's space (TLS_ALLOW=space) */
    char **app_uris;                     /* NULL-terminated, never NULL after resolution */

    /* Run time only, from the platform's CF_INSTANCE_* / INSTANCE_GUID. */
    char *instance_ip;                   /* CF_INSTANCE_INTERNAL_IP */
    char *instance_guid;                 /* INSTANCE_GUID or CF_INSTANCE_GUID */
    int instance_index;                  /* CF_INSTANCE_INDEX, -1 when unknown */
    char *instance_cert;                 /* CF_INSTANCE_CERT: the identity's chain file */
    char *instance_key;                  /* CF_INSTANCE_KEY: its key file */

    bool has_registry;
    struct registry_binding registry;

    /* Where each setting came from, indexed by enum config_field. */
    enum config_source source[FIELD_COUNT];

    /* The raw inputs that config.yml carries to run time: the ERLANG_CLUSTER_* values of the
     * current environment (never the cookie) and the defaults in effect. NULL = not set. */
    char *env_values[FIELD_COUNT];
    char *default_values[FIELD_COUNT];
};

/* What to resolve from. Staging: manifest_path set, staged_config_path NULL.
 * Run time: staged_config_path set (deps/IDX/config.yml), manifest_path NULL. */
struct config_inputs {
    char *const *env;               /* NULL-terminated "NAME=value" array, e.g. environ */
    const char *manifest_path;
    const char *staged_config_path;
};

/* Fills *cfg. On invalid input returns -1 and writes one line into err naming the variable
 * or file, what is wrong and the accepted form (never a secret value); *cfg is then empty
 * (config_free is still safe). With ERLANG_CLUSTER_DISABLE true, resolution stops there:
 * cfg->disabled is set and the other fields are left at their zero values. */
int config_resolve(const struct config_inputs *in, struct config *cfg, char *err, size_t errlen);
void config_free(struct config *cfg);

/* Writes config.yml (`name`, `version`, `config: {env: {...}, defaults: {...}}`) from the
 * resolved config's env_values and default_values, atomically with mode 0644. */
int config_write_staged(const struct config *cfg, const char *path, char *err, size_t errlen);

const char *config_source_name(enum config_source source);
const char *discovery_mode_name(enum discovery_mode mode);

/* The name a cluster has in a Eureka registry: the cluster name with characters outside
 * [0-9A-Za-z.-] replaced by '-', upper-cased (as the server would). malloc'd. */
char *registry_app_name(const char *cluster_name);
const char *start_style_name(enum start_style style);
const char *cluster_tls_name(enum cluster_tls tls);
#endif
