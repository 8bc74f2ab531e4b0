/* Inside staging (src/supply only): what staging decides before it writes anything, and the
 * steps supply_run outlines (supply.c): the cookie (cookie_plan.c), the droplet's files
 * (droplet.c) and the report (report.c). */
#ifndef ECB_SUPPLY_STAGING_PLAN_H
#define ECB_SUPPLY_STAGING_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/secret.h"
#include "supply/supply.h"

#define COOKIE_FILE ".erlang.cookie"
#define WRAPPER_NAME "erlang-cluster.sh"
#define AGENT_NAME "erlang-cluster-agent"
#define CJSON_NAME "libcjson.so.1"

/* What the build cache said about a generated cookie. */
enum cached_cookie {
    CACHED_NONE,     /* first staging, or the cache was cleared */
    CACHED_KEPT,     /* the previous staging's cookie, reused */
    CACHED_UNUSABLE, /* there was one, but it could not be used: regenerated */
};

/* Where the droplet's cookie comes from, decided before anything is written. */
struct cookie_plan {
    enum config_source source; /* APP, ENV or GENERATED */
    char value[COOKIE_TEXT_MAX + 1];
    bool app_file_mode_ok;
    bool replaces_app_file; /* ERLANG_CLUSTER_COOKIE over the app's own file */
    enum cached_cookie cached; /* GENERATED only */
    char cache_problem[256];   /* why a cached cookie was unusable (never its content) */
};

/* Everything staging writes, read and checked before the first write so that a failure
 * leaves the droplet as it was. */
struct staging_plan {
    char *deps_idx_dir;
    char *agent_src, *cjson_src;
    char *wrapper;      /* the template with the index filled in */
    char *vm_args;
    struct cookie_plan cookie;
};

/* ERLANG_CLUSTER_COOKIE, else the app's own .erlang.cookie, else the build cache's, else a
 * new one. Fails only on an unusable app cookie file or no randomness. */
int cookie_plan_make(const struct stager *st, const struct config *cfg, struct cookie_plan *c,
                     char *err, size_t errlen);
/* BUILD_DIR/.erlang.cookie, mode 0400 (the app's own file is kept, its mode tightened). */
int cookie_plan_write(const struct stager *st, const struct cookie_plan *c, char *err,
                      size_t errlen);
/* Keeps a generated cookie in the build cache for the next staging; only warns on failure. */
void cookie_plan_keep_in_cache(const struct stager *st, const struct cookie_plan *c);

/* The agent, libcjson, vm.args, config.yml, both wrappers and the cookie. */
int droplet_write(const struct stager *st, const struct config *cfg,
                  const struct staging_plan *plan, char *err, size_t errlen);

/* Warnings about the input that do not stop staging: ERLANG_CLUSTER_* names that are not
 * settings, registry credentials over plain http://. */
void report_warnings(const struct stager *st, const struct config *cfg);
/* What was staged and why, and the network policy the app needs. */
void report_staged(const struct stager *st, const struct config *cfg,
                   const struct staging_plan *plan);

#endif
