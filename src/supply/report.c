/* The staging report: warnings about the input, then what was staged, why, and what the app
 * still needs (the network policy). */
#include "supply/cookie_strength.h"
#include "supply/staging_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleartext_credentials.h"
#include "common/log.h"
#include "common/text.h"

static void warn_unknown_variables(const struct stager *st)
{
    static const char prefix[] = "ERLANG_CLUSTER_";
    for (char *const *e = st->env; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, prefix, sizeof prefix - 1) != 0)
            continue;
        size_t name_len = strcspn(*e, "=");
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(name_len < 127 ? name_len : 127), *e);
        if (config_field_from_variable(name) == FIELD_COUNT)
            log_warning(st->out, "%s is not a setting of this buildpack and is ignored", name);
    }
}

/* The agent says the same at run time, where the credentials are actually sent. At staging
 * CredHub-backed credentials are not resolved yet (uri NULL): nothing to judge. */
static void warn_cleartext_credentials(const struct stager *st, const struct config *cfg)
{
    char msg[512];
    if (cfg->has_registry &&
        cleartext_credentials_warning(cfg->registry.binding_name, cfg->registry.uri,
                                      cfg->registry.client_id, cfg->registry.access_token_uri,
                                      msg, sizeof msg))
        log_warning(st->out, "%s", msg);
}

void report_warnings(const struct stager *st, const struct config *cfg)
{
    warn_unknown_variables(st);
    warn_cleartext_credentials(st, cfg);
}

static const char *app_or_placeholder(const struct config *cfg)
{
    return cfg->app_name != NULL && *cfg->app_name != '\0' ? cfg->app_name : "APP";
}

/* The app name as one shell word, so a printed command can be pasted as it is (release
 * quoted after use). */
static const char *app_word(const struct config *cfg, struct strbuf *quoted)
{
    return shell_word_append(quoted, app_or_placeholder(cfg)) == 0 ? strbuf_text(quoted)
                                                                    : "APP";
}

static void report_discovery(FILE *out, const struct config *cfg)
{
    char *registry_app = NULL;
    struct strbuf quoted = {0};
    const char *app = app_word(cfg, &quoted);
    log_detail(out, "Discovery: %s, because %s", discovery_mode_name(cfg->discovery),
               cfg->discovery_reason);
    switch (cfg->discovery) {
    case DISCOVERY_EUREKA:
        registry_app = registry_app_name(cfg->cluster_name);
        log_detail(out, "  registry app name %s; renew every %d s; discover every %d s once "
                        "meshed (about every second until then)",
                   registry_app ? registry_app : cfg->cluster_name, cfg->heartbeat_interval,
                   cfg->poll_interval);
        free(registry_app);
        log_detail(out, "  other modes: ERLANG_CLUSTER_DISCOVERY=dns (internal route), static "
                        "(ERLANG_CLUSTER_PEERS) or none");
        break;
    case DISCOVERY_DNS:
        log_detail(out, "  resolving %s every %d s once meshed (about every second until then)",
                   cfg->dns_query, cfg->poll_interval);
        log_detail(out, "  other modes: bind a Eureka registry and set "
                        "ERLANG_CLUSTER_DISCOVERY=eureka, or static with ERLANG_CLUSTER_PEERS");
        break;
    case DISCOVERY_STATIC:
        log_detail(out, "  peers: %s", cfg->peers);
        log_detail(out, "  other modes: bind a Eureka registry, or map an internal route and "
                        "set ERLANG_CLUSTER_DISCOVERY=dns");
        break;
    default:
        log_detail(out, "  the node is named and distributed but finds no peers; to cluster, "
                        "bind a Eureka registry (cf bind-service %s REGISTRY), map an internal "
                        "route (cf map-route %s apps.internal --hostname HOST) or set "
                        "ERLANG_CLUSTER_PEERS",
                   app, app);
    }
    strbuf_release(&quoted);
}

/* A cookie someone chose that an offline guess could find (supply/cookie_strength.h); the
 * generated one is never checked. Never shows the cookie. */
static void warn_weak_cookie(FILE *out, const struct config *cfg, const struct cookie_plan *c)
{
    char why[160], service[300];
    const char *cookie = NULL, *from = NULL, *instead = NULL;
    if (cfg->source[FIELD_COOKIE] == SOURCE_SERVICE && cfg->cookie != NULL) {
        snprintf(service, sizeof service, "service \"%s\"", cfg->cookie_service);
        cookie = cfg->cookie, from = service;
        instead = "take the cookie out of the service's credentials";
    } else if (c->source == SOURCE_ENV) {
        cookie = c->value, from = "ERLANG_CLUSTER_COOKIE";
        instead = "unset ERLANG_CLUSTER_COOKIE";
    } else if (c->source == SOURCE_APP) {
        cookie = c->value, from = "the app's own .erlang.cookie";
        instead = "delete the app's .erlang.cookie";
    }
    if (cookie == NULL || cookie_weakness(cookie, why, sizeof why) == NULL)
        return;
    log_warning(out, "the cookie from %s is weak: %s. Anyone who can reach the distribution "
                     "port, or see one connection's handshake, gets a challenge and its digest "
                     "MD5(cookie + challenge) and can guess the cookie offline; the cookie lets "
                     "its holder run any code on every node. Make a strong one with `openssl "
                     "rand -base64 32`, or %s so that the buildpack generates one",
                from, why, instead);
}

static void report_cookie(FILE *out, const struct config *cfg, const struct cookie_plan *c)
{
    switch (c->source) {
    case SOURCE_APP:
        log_detail(out, "Cookie: the app's own .erlang.cookie (kept, mode 0400)");
        break;
    case SOURCE_ENV:
        log_detail(out, "Cookie: from ERLANG_CLUSTER_COOKIE (in .erlang.cookie, mode 0400%s)",
                   c->replaces_app_file ? "; it replaces the app's own file" : "");
        break;
    default:
        if (c->cached == CACHED_KEPT)
            log_detail(out, "Cookie: kept from the previous staging (in .erlang.cookie, mode "
                            "0400): the app's earlier droplets cluster with this one");
        else if (c->cached == CACHED_UNUSABLE)
            log_detail(out, "Cookie: generated: the build cache held an unusable cookie (%s), "
                            "so instances of earlier droplets will not connect to this one's (in "
                            ".erlang.cookie, mode 0400; kept in the build cache)",
                       c->cache_problem);
        else
            log_detail(out, "Cookie: generated: first staging, or the build cache was cleared "
                            "(in .erlang.cookie, mode 0400; kept in the build cache for the "
                            "next staging; ERLANG_CLUSTER_COOKIE pins one)");
    }
    if (cfg->source[FIELD_COOKIE] == SOURCE_SERVICE)
        log_detail(out, "  at run time the cookie of service \"%s\" is used instead (it is not "
                        "stored in the droplet)",
                   cfg->cookie_service);
    warn_weak_cookie(out, cfg, c);
}

/* The distribution's mode in words: the instance identity exists only at run time, so with
 * auto (and with true, whose failure leaves the app unclustered) the launch step decides. */
static void report_tls(const struct config *cfg, char *out, size_t outlen)
{
    const char *from = config_source_name(cfg->source[FIELD_TLS]);
    switch (cfg->tls) {
    case CLUSTER_TLS_ON:
        snprintf(out, outlen, "mutual TLS with the instance identity (ERLANG_CLUSTER_TLS=true "
                 "from %s; peers: %s)", from,
                 cfg->tls_allow ? "this app and ERLANG_CLUSTER_TLS_ALLOW" : "this app only");
        break;
    case CLUSTER_TLS_AUTO:
        snprintf(out, outlen, "mutual TLS with the instance identity if the instance has one, "
                 "else clear text (ERLANG_CLUSTER_TLS=auto from %s: decided at each launch)",
                 from);
        break;
    default:
        snprintf(out, outlen, "clear text (ERLANG_CLUSTER_TLS=false from %s)", from);
    }
}

void report_staged(const struct stager *st, const struct config *cfg,
                   const struct staging_plan *plan)
{
    FILE *out = st->out;
    struct strbuf quoted = {0};
    const char *app = app_word(cfg, &quoted);
    report_discovery(out, cfg);
    log_detail(out, "Node name: %s@$CF_INSTANCE_INTERNAL_IP (cluster %s; process types: %s)",
               cfg->node_basename, cfg->cluster_name, cfg->process_types);
    char tls[256];
    report_tls(cfg, tls, sizeof tls);
    if (cfg->epmd)
        log_detail(out, "Distribution: epmd on port %d, node on port %d, %s; net_ticktime %d s",
                   EPMD_PORT, cfg->dist_port, tls, cfg->net_ticktime);
    else
        log_detail(out, "Distribution: epmd-less on port %d, %s; net_ticktime %d s",
                   cfg->dist_port, tls, cfg->net_ticktime);
    report_cookie(out, cfg, &plan->cookie);
    log_detail(out, "Installed: deps/%s/bin/%s, vm.args, config.yml, profile.d/%s and "
                    ".profile.d/%s",
               st->idx, AGENT_NAME, WRAPPER_NAME, WRAPPER_NAME);
    log_step(out, "Allow the instances to connect to each other (once per app):");
    if (cfg->epmd)
        log_detail(out, "cf add-network-policy %s %s --protocol tcp --port %d", app, app,
                   EPMD_PORT);
    log_detail(out, "cf add-network-policy %s %s --protocol tcp --port %d", app, app,
               cfg->dist_port);
    strbuf_release(&quoted);
}
