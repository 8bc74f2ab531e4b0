/* Config resolution from an environment array. The input is environment lines
 * ("NAME=value", one per line); a line "%%" switches to run time, the rest being the
 * droplet's config.yml. Without it the input is resolved as at staging, against the
 * buildpack's defaults, and what staging accepted is written to config.yml and resolved
 * again as at run time (without the ERLANG_CLUSTER_* variables): both must agree. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/node_name.h"
#include "fuzz_support.h"

#define MAX_ENV 64

static const char manifest_text[] =
    "language: erlang_cluster\n"
    "version: 0.1.0\n"
    "defaults:\n"
    "  ERLANG_CLUSTER_DISABLE: \"false\"\n"
    "  ERLANG_CLUSTER_DISCOVERY: auto\n"
    "  ERLANG_CLUSTER_DIST_PORT: \"9001\"\n"
    "  ERLANG_CLUSTER_EPMD: \"false\"\n"
    "  ERLANG_CLUSTER_POLL_INTERVAL: \"5\"\n"
    "  ERLANG_CLUSTER_HEARTBEAT_INTERVAL: \"30\"\n"
    "  ERLANG_CLUSTER_NET_TICKTIME: \"60\"\n"
    "  ERLANG_CLUSTER_PROCESS_TYPES: web\n"
    "  ERLANG_CLUSTER_LOG_LEVEL: info\n"
    "  ERLANG_CLUSTER_START_STYLE: auto\n";

struct files {
    int manifest_fd, staged_fd;
    char manifest[64], staged[64];
    char scratch[256];
    char written[320];
};

static const char *const scratch_names[] = {"config.yml", NULL};

static void remove_scratch(void);

static struct files *files(void)
{
    static struct files f;
    static bool ready;
    if (!ready) {
        f.manifest_fd = fuzz_memfile_open(f.manifest, sizeof f.manifest);
        fuzz_memfile_set(f.manifest_fd, manifest_text, sizeof manifest_text - 1);
        f.staged_fd = fuzz_memfile_open(f.staged, sizeof f.staged);
        fuzz_scratch_dir(f.scratch, sizeof f.scratch);
        snprintf(f.written, sizeof f.written, "%s/config.yml", f.scratch);
        atexit(remove_scratch);
        ready = true;
    }
    return &f;
}

static void remove_scratch(void)
{
    fuzz_scratch_remove(files()->scratch, scratch_names);
}

static bool same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Properties of any successful resolution. */
static void check_resolved(const struct config *cfg)
{
    if (cfg->disabled)
        return;
    if (cfg->discovery == DISCOVERY_AUTO || cfg->discovery_reason == NULL)
        fuzz_fail("resolution left discovery undecided");
    fuzz_check_message("the discovery reason", cfg->discovery_reason);
    if (cfg->cluster_name == NULL || cfg->node_basename == NULL ||
        !node_basename_valid(cfg->node_basename))
        fuzz_fail("resolution gave an invalid node basename \"%s\"",
                  cfg->node_basename != NULL ? cfg->node_basename : "(null)");
    if (cfg->dist_port < CONFIG_PORT_MIN || cfg->dist_port > CONFIG_PORT_MAX ||
        cfg->poll_interval < CONFIG_POLL_MIN || cfg->poll_interval > CONFIG_POLL_MAX ||
        cfg->heartbeat_interval < CONFIG_HEARTBEAT_MIN ||
        cfg->heartbeat_interval > CONFIG_HEARTBEAT_MAX ||
        cfg->net_ticktime < CONFIG_TICKTIME_MIN || cfg->net_ticktime > CONFIG_TICKTIME_MAX)
        fuzz_fail("resolution gave a number out of range");
    if (cfg->epmd && cfg->dist_port == EPMD_PORT)
        fuzz_fail("resolution put the node on epmd's port");
    if (cfg->app_uris == NULL || cfg->process_types == NULL)
        fuzz_fail("resolution left app_uris or process_types NULL");
    if (cfg->dns_query != NULL && !dns_name_valid(cfg->dns_query))
        fuzz_fail("resolution gave an invalid DNS query \"%s\"", cfg->dns_query);
    if (cfg->discovery == DISCOVERY_DNS && cfg->dns_query == NULL)
        fuzz_fail("dns discovery without a query");
    if (cfg->discovery == DISCOVERY_STATIC && cfg->peers == NULL)
        fuzz_fail("static discovery without peers");
    if (cfg->discovery == DISCOVERY_EUREKA && !cfg->has_registry)
        fuzz_fail("eureka discovery without a registry");
    if (cfg->peers != NULL && (cfg->peers[0] == '\0' || strstr(cfg->peers, ",,") != NULL ||
                               !fuzz_only_chars(cfg->peers, 1, "_-.:@,")))
        fuzz_fail("resolution gave a malformed peer list \"%s\"", cfg->peers);
    if (cfg->env_values[FIELD_COOKIE] != NULL)
        fuzz_fail("the cookie is among the values carried to config.yml");
}

static void check_same(const struct config *a, const struct config *b)
{
    bool same = a->disabled == b->disabled && a->discovery == b->discovery &&
                same_text(a->cluster_name, b->cluster_name) &&
                same_text(a->node_basename, b->node_basename) &&
                a->dist_port == b->dist_port && a->epmd == b->epmd &&
                same_text(a->service_name, b->service_name) &&
                same_text(a->dns_query, b->dns_query) &&
                same_text(a->dns_servers, b->dns_servers) && same_text(a->peers, b->peers) &&
                a->poll_interval == b->poll_interval &&
                a->heartbeat_interval == b->heartbeat_interval &&
                a->net_ticktime == b->net_ticktime &&
                same_text(a->process_types, b->process_types) && a->log_level == b->log_level &&
                a->start_style == b->start_style && a->has_registry == b->has_registry &&
                same_text(a->registry.uri, b->registry.uri);
    if (!same)
        fuzz_fail("run time resolved config.yml differently from staging");
}

/* Splits text into env lines (at most MAX_ENV) up to a "%%" line; returns what follows it,
 * or NULL when there is none. */
static char *split_input(char *text, char **env)
{
    size_t n = 0;
    char *line = text;
    while (line != NULL) {
        char *next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (strcmp(line, "%%") == 0)
            return next != NULL ? next : line + 2;
        if (line[0] != '\0' && n < MAX_ENV)
            env[n++] = line;
        line = next;
    }
    env[n] = NULL;
    return NULL;
}

static void resolve_at_run_time(char *const *staging_env, const struct config *staged,
                                const char *config_yml)
{
    char *env[MAX_ENV + 1];
    size_t n = 0;
    for (char *const *e = staging_env; *e != NULL; e++)
        if (strncmp(*e, "ERLANG_CLUSTER_", 15) != 0)
            env[n++] = *e;
    env[n] = NULL;
    struct config_inputs in = {.env = env, .staged_config_path = config_yml};
    struct config cfg;
    char err[1024] = "";
    if (config_resolve(&in, &cfg, err, sizeof err) != 0)
        fuzz_fail("run time rejected what staging accepted: %s", err);
    check_resolved(&cfg);
    check_same(staged, &cfg);
    config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct files *f = files();
    char *text = fuzz_cstring(data, size);
    char *env[MAX_ENV + 1];
    memset(env, 0, sizeof env);
    char *staged_yml = split_input(text, env);
    struct config_inputs in = {.env = env};
    if (staged_yml != NULL) {
        fuzz_memfile_set(f->staged_fd, staged_yml, strlen(staged_yml));
        in.staged_config_path = f->staged;
    } else {
        in.manifest_path = f->manifest;
    }
    struct config cfg;
    char err[1024] = "";
    if (config_resolve(&in, &cfg, err, sizeof err) != 0) {
        fuzz_check_message("config_resolve", err);
        if (cfg.cluster_name != NULL || cfg.cookie != NULL || cfg.app_uris != NULL)
            fuzz_fail("config_resolve failed but left results behind");
    } else {
        check_resolved(&cfg);
        if (staged_yml == NULL && !cfg.disabled) {
            if (config_write_staged(&cfg, f->written, err, sizeof err) == 0)
                resolve_at_run_time(env, &cfg, f->written);
            else
                fuzz_check_message("config_write_staged", err);
        }
        config_free(&cfg);
    }
    free(text);
    return 0;
}
