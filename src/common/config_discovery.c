#include "common/config_discovery.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config_values.h"
#include "common/node_name.h"

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
{
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&cfg->discovery_reason, fmt, ap);
    va_end(ap);
    if (n < 0) {
        cfg->discovery_reason = NULL;
        return config_fail(err, errlen, "configuration: out of memory");
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

/* Names from VCAP_* as messages show them: bounded, one printable line. */
struct shown_names {
    char app[80];
    char registry[80];
};

static void show_names(const struct config *cfg, struct shown_names *names)
{
    config_quote_value(cfg->app_name != NULL ? cfg->app_name : "APP", names->app,
                       sizeof names->app);
    config_quote_value(cfg->has_registry ? cfg->registry.binding_name : "", names->registry,
                       sizeof names->registry);
}

/* ERLANG_CLUSTER_DISCOVERY names a mode: it must have what it needs. */
static int choose_requested(struct config *cfg, int requested, const struct picked *mode_pick,
                            const char *route, char *err, size_t errlen)
{
    struct shown_names shown;
    show_names(cfg, &shown);
    switch (requested) {
    case DISCOVERY_EUREKA:
        if (!cfg->has_registry)
            return config_fail(err, errlen,
                               "%s is eureka but no Eureka registry is bound; bind one (cf "
                               "bind-service %s REGISTRY, a service tagged eureka) or use auto, "
                               "dns, static or none",
                               mode_pick->origin, shown.app);
        cfg->discovery = DISCOVERY_EUREKA;
        return set_reason(cfg, err, errlen, "%s is eureka (registry \"%s\")", mode_pick->origin,
                          shown.registry);
    case DISCOVERY_DNS:
        if (cfg->dns_query == NULL && route == NULL)
            return config_fail(err, errlen,
                               "%s is dns but there is nothing to resolve; set "
                               "ERLANG_CLUSTER_DNS_QUERY or map an internal route (cf map-route "
                               "%s apps.internal --hostname HOST)",
                               mode_pick->origin, shown.app);
        cfg->discovery = DISCOVERY_DNS;
        return set_reason(cfg, err, errlen, "%s is dns", mode_pick->origin);
    case DISCOVERY_STATIC:
        if (cfg->peers == NULL)
            return config_fail(err, errlen,
                               "%s is static but ERLANG_CLUSTER_PEERS is not set; set it to a "
                               "comma-separated list of node names or IP addresses",
                               mode_pick->origin);
        cfg->discovery = DISCOVERY_STATIC;
        return set_reason(cfg, err, errlen, "%s is static", mode_pick->origin);
    default:
        cfg->discovery = DISCOVERY_NONE;
        return set_reason(cfg, err, errlen, "%s is none", mode_pick->origin);
    }
}

/* auto: the first mode the app has what it needs for. */
static int choose_automatically(struct config *cfg, const char *route, char *err,
                                size_t errlen)
{
    struct shown_names shown;
    show_names(cfg, &shown);
    if (cfg->has_registry) {
        cfg->discovery = DISCOVERY_EUREKA;
        return set_reason(cfg, err, errlen, "a Eureka registry is bound (service \"%s\")",
                          shown.registry);
    }
    if (cfg->dns_query != NULL) {
        cfg->discovery = DISCOVERY_DNS;
        return set_reason(cfg, err, errlen, "ERLANG_CLUSTER_DNS_QUERY is set");
    }
    if (route != NULL) {
        cfg->discovery = DISCOVERY_DNS;
        return set_reason(cfg, err, errlen, "the app has the internal route %s", route);
    }
    if (cfg->peers != NULL) {
        cfg->discovery = DISCOVERY_STATIC;
        return set_reason(cfg, err, errlen, "ERLANG_CLUSTER_PEERS is set");
    }
    cfg->discovery = DISCOVERY_NONE;
    return set_reason(cfg, err, errlen,
                      "no Eureka registry is bound, the app has no apps.internal route, and "
                      "neither ERLANG_CLUSTER_DNS_QUERY nor ERLANG_CLUSTER_PEERS is set");
}

int config_choose_discovery(const struct config_layers *l, struct config *cfg,
                            struct vcap_services *services, char *err, size_t errlen)
{
    static const char *const modes[] = {"auto", "eureka", "dns", "static", "none"};
    struct picked mode_pick;
    int requested = DISCOVERY_AUTO;
    config_pick(l, FIELD_DISCOVERY, &mode_pick);
    cfg->source[FIELD_DISCOVERY] = mode_pick.source;
    if (config_parse_choice(&mode_pick, modes, 5, "use auto, eureka, dns, static or none",
                            &requested, err, errlen) != 0)
        return -1;
    bool wants_registry = requested == DISCOVERY_AUTO || requested == DISCOVERY_EUREKA;
    if (wants_registry && resolve_registry(cfg, services, err, errlen) != 0)
        return -1;
    char *route = internal_route(cfg->app_uris);
    int rc = requested == DISCOVERY_AUTO
                 ? choose_automatically(cfg, route, err, errlen)
                 : choose_requested(cfg, requested, &mode_pick, route, err, errlen);
    if (rc == 0 && cfg->discovery == DISCOVERY_DNS && cfg->dns_query == NULL) {
        cfg->dns_query = route; /* resolve the app's own internal route */
        cfg->source[FIELD_DNS_QUERY] = SOURCE_APP;
        route = NULL;
    }
    free(route);
    return rc;
}
