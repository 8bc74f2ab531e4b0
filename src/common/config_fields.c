#include "common/config_fields.h"

#include <string.h>

static const char *const field_variables[FIELD_COUNT] = {
    [FIELD_DISABLE] = "ERLANG_CLUSTER_DISABLE",
    [FIELD_DISCOVERY] = "ERLANG_CLUSTER_DISCOVERY",
    [FIELD_NAME] = "ERLANG_CLUSTER_NAME",
    [FIELD_NODE_BASENAME] = "ERLANG_CLUSTER_NODE_BASENAME",
    [FIELD_COOKIE] = "ERLANG_CLUSTER_COOKIE",
    [FIELD_DIST_PORT] = "ERLANG_CLUSTER_DIST_PORT",
    [FIELD_EPMD] = "ERLANG_CLUSTER_EPMD",
    [FIELD_SERVICE] = "ERLANG_CLUSTER_SERVICE",
    [FIELD_DNS_QUERY] = "ERLANG_CLUSTER_DNS_QUERY",
    [FIELD_PEERS] = "ERLANG_CLUSTER_PEERS",
    [FIELD_POLL_INTERVAL] = "ERLANG_CLUSTER_POLL_INTERVAL",
    [FIELD_HEARTBEAT_INTERVAL] = "ERLANG_CLUSTER_HEARTBEAT_INTERVAL",
    [FIELD_NET_TICKTIME] = "ERLANG_CLUSTER_NET_TICKTIME",
    [FIELD_PROCESS_TYPES] = "ERLANG_CLUSTER_PROCESS_TYPES",
    [FIELD_LOG_LEVEL] = "ERLANG_CLUSTER_LOG_LEVEL",
    [FIELD_START_STYLE] = "ERLANG_CLUSTER_START_STYLE",
    [FIELD_DNS_SERVERS] = "ERLANG_CLUSTER_DNS_SERVERS",
    [FIELD_TLS] = "ERLANG_CLUSTER_TLS",
    [FIELD_TLS_CA_FILE] = "ERLANG_CLUSTER_TLS_CA_FILE",
    [FIELD_TLS_ALLOW] = "ERLANG_CLUSTER_TLS_ALLOW",
    [FIELD_PEER_NETWORK] = "ERLANG_CLUSTER_PEER_NETWORK",
};

/* Compiled-in fallbacks, used when no input sets a value. NULL: derived or none. */
static const char *const builtin_defaults[FIELD_COUNT] = {
    [FIELD_DISABLE] = "false",
    [FIELD_DISCOVERY] = "auto",
    [FIELD_DIST_PORT] = "9001",
    [FIELD_EPMD] = "false",
    [FIELD_POLL_INTERVAL] = "60",
    [FIELD_HEARTBEAT_INTERVAL] = "30",
    [FIELD_NET_TICKTIME] = "60",
    [FIELD_PROCESS_TYPES] = "web",
    [FIELD_LOG_LEVEL] = "info",
    [FIELD_START_STYLE] = "auto",
    [FIELD_TLS] = "false",
};

/* One line each for `erlang-cluster-agent --help`; the default is added from the table above. */
static const char *const field_help[FIELD_COUNT] = {
    [FIELD_DISABLE] = "true: do nothing",
    [FIELD_DISCOVERY] = "auto|eureka|dns|static|none",
    [FIELD_NAME] = "cluster and registry app name (default: the app's name)",
    [FIELD_NODE_BASENAME] = "node name part before '@' (default: from the cluster name)",
    [FIELD_COOKIE] = "the cluster's cookie (into ~/.erlang.cookie at launch; never logged)",
    [FIELD_DIST_PORT] = "the distribution port",
    [FIELD_EPMD] = "true: reach the node through epmd",
    [FIELD_SERVICE] = "which registry binding, when several",
    [FIELD_DNS_QUERY] = "dns mode: name to resolve (default: the apps.internal route)",
    [FIELD_PEERS] = "static mode: node names or IP addresses, comma-separated",
    [FIELD_POLL_INTERVAL] = "seconds between discoveries once meshed",
    [FIELD_HEARTBEAT_INTERVAL] = "seconds between lease renewals",
    [FIELD_NET_TICKTIME] = "seconds; read by the launch files, not the loop",
    [FIELD_PROCESS_TYPES] = "process types that cluster, comma-separated; read by prepare",
    [FIELD_LOG_LEVEL] = "error|warn|info|debug",
    [FIELD_START_STYLE] = "auto|erl|mix-release|relx; read by prepare",
    [FIELD_DNS_SERVERS] = "dns mode: servers to ask, ip[:port],... (default: /etc/resolv.conf)",
    [FIELD_TLS] = "false|true|auto: mutual TLS distribution with the instance identity "
                  "(auto: when CF_INSTANCE_CERT/KEY exist; the planned default)",
    [FIELD_TLS_CA_FILE] = "TLS: absolute path of the issuers a peer must chain to "
                          "(default: the instance certificate's own issuer)",
    [FIELD_TLS_ALLOW] = "TLS: more app GUIDs that may join, comma-separated, or space "
                        "(default: this app only)",
    [FIELD_PEER_NETWORK] = "networks (CIDR, comma-separated) a discovered peer's address must "
                           "be in (default: private ranges and loopback: "
                           "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,"
                           "127.0.0.0/8,fc00::/7,::1/128)",
};

const char *config_field_help(enum config_field field)
{
    return field >= 0 && field < FIELD_COUNT ? field_help[field] : "";
}

const char *config_field_builtin(enum config_field field)
{
    return field >= 0 && field < FIELD_COUNT ? builtin_defaults[field] : NULL;
}

const char *config_field_variable(enum config_field field)
{
    return field >= 0 && field < FIELD_COUNT ? field_variables[field] : "ERLANG_CLUSTER_?";
}

enum config_field config_field_from_variable(const char *name)
{
    for (int f = 0; f < FIELD_COUNT; f++)
        if (strcmp(name, field_variables[f]) == 0)
            return (enum config_field)f;
    return FIELD_COUNT;
}
