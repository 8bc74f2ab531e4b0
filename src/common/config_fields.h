/* The one table of settings: every ERLANG_CLUSTER_* variable the configuration reads, by
 * field, with its compiled-in fallback. config.c resolves them, settings_file.c reads and
 * writes them in YAML, and `erlang-cluster-agent --help` prints them from here. */
#ifndef ECB_CONFIG_FIELDS_H
#define ECB_CONFIG_FIELDS_H

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
    FIELD_START_STYLE,
    FIELD_DNS_SERVERS,
    FIELD_TLS,
    FIELD_TLS_CA_FILE,
    FIELD_TLS_ALLOW,
    FIELD_PEER_NETWORK,
    FIELD_COUNT
};

/* "ERLANG_CLUSTER_DIST_PORT" for FIELD_DIST_PORT. */
const char *config_field_variable(enum config_field field);
/* The field for a variable name, or FIELD_COUNT when it is not one of ours. */
enum config_field config_field_from_variable(const char *name);
/* The compiled-in fallback ("60" for FIELD_POLL_INTERVAL), or NULL when the value is
 * derived (the cluster name from the app's) or there is none. The buildpack's manifest.yml
 * carries the same values as its defaults. */
const char *config_field_builtin(enum config_field field);
/* One line of help for the setting, without its default. */
const char *config_field_help(enum config_field field);

#endif
