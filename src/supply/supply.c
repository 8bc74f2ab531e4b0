#include "supply/supply.h"
#include "supply/staging_plan.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/vm_args.h"

#define ERRLEN 1024
#define TEMPLATE_PATH "templates/erlang-cluster.sh"
#define IDX_PLACEHOLDER "@@DEPS_IDX@@"

char *supply_buildpack_root(char *err, size_t errlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0) {
        snprintf(err, errlen, "finding the buildpack: readlink /proc/self/exe: %s",
                 strerror(errno));
        return NULL;
    }
    exe[n] = '\0';
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL || slash == exe) {
            snprintf(err, errlen, "finding the buildpack: %s is not <root>/bin/supply", exe);
            return NULL;
        }
        *slash = '\0';
    }
    char *root = strdup(exe);
    if (root == NULL)
        snprintf(err, errlen, "finding the buildpack: out of memory");
    return root;
}

static void plan_free(struct staging_plan *plan)
{
    free(plan->deps_idx_dir);
    free(plan->agent_src);
    free(plan->cjson_src);
    free(plan->wrapper);
    free(plan->vm_args);
    explicit_bzero(plan->cookie.value, sizeof plan->cookie.value);
}

static int require_dir(const char *what, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s %s: %s; the platform passes an existing directory", what, path,
                 strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s %s: not a directory", what, path);
        return -1;
    }
    return 0;
}

static int require_file(const char *root, const char *rel, char **out, char *err, size_t errlen)
{
    *out = fs_join(root, rel);
    if (*out == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (access(*out, R_OK) != 0) {
        snprintf(err, errlen,
                 "the buildpack is incomplete: %s: %s; rebuild it with make or use the "
                 "packaged zip",
                 *out, strerror(errno));
        return -1;
    }
    return 0;
}

/* Replaces every placeholder with idx. */
static char *fill_template(const char *text, const char *idx)
{
    size_t count = 0, plen = strlen(IDX_PLACEHOLDER), ilen = strlen(idx);
    for (const char *p = strstr(text, IDX_PLACEHOLDER); p != NULL;
         p = strstr(p + plen, IDX_PLACEHOLDER))
        count++;
    size_t len = strlen(text) + count * ilen + 1;
    char *out = malloc(len), *w = out;
    if (out == NULL)
        return NULL;
    for (const char *r = text;;) {
        const char *hit = strstr(r, IDX_PLACEHOLDER);
        size_t chunk = hit != NULL ? (size_t)(hit - r) : strlen(r);
        memcpy(w, r, chunk);
        w += chunk;
        if (hit == NULL)
            break;
        memcpy(w, idx, ilen);
        w += ilen;
        r = hit + plen;
    }
    *w = '\0';
    return out;
}

static int make_plan(const struct stager *st, const struct config *cfg, struct staging_plan *plan,
                     char *err, size_t errlen)
{
    if (require_dir("BUILD_DIR", st->build_dir, err, errlen) != 0 ||
        require_dir("DEPS_DIR", st->deps_dir, err, errlen) != 0)
        return -1;
    plan->deps_idx_dir = fs_join(st->deps_dir, st->idx);
    if (plan->deps_idx_dir == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *template_path = NULL, *template_text = NULL;
    int rc = -1;
    if (require_file(st->buildpack_root, "bin/" AGENT_NAME, &plan->agent_src, err, errlen) != 0 ||
        require_file(st->buildpack_root, "lib/" CJSON_NAME, &plan->cjson_src, err, errlen) != 0 ||
        require_file(st->buildpack_root, TEMPLATE_PATH, &template_path, err, errlen) != 0 ||
        fs_read_file(template_path, 1024 * 1024, &template_text, NULL, err, errlen) != 0)
        goto done;
    plan->wrapper = fill_template(template_text, st->idx);
    plan->vm_args = vm_args_render(cfg, VM_ARGS_APP);
    if (plan->wrapper == NULL || plan->vm_args == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    rc = cookie_plan_make(st, cfg, &plan->cookie, err, errlen);
done:
    free(template_path);
    free(template_text);
    return rc;
}

int supply_run(const struct stager *st)
{
    char err[ERRLEN];
    char *manifest = fs_join(st->buildpack_root, "manifest.yml");
    if (manifest == NULL) {
        log_failure(st->errout, "out of memory");
        return 1;
    }
    struct config_inputs in = {.env = st->env, .manifest_path = manifest};
    struct config cfg;
    int rc = config_resolve(&in, &cfg, err, sizeof err);
    free(manifest);
    if (rc != 0) {
        log_failure(st->errout, "%s", err);
        return 1;
    }
    log_step(st->out, "Erlang cluster buildpack %s",
             cfg.buildpack_version != NULL ? cfg.buildpack_version : ECB_VERSION);
    if (cfg.disabled) {
        log_detail(st->out, "ERLANG_CLUSTER_DISABLE is set: nothing installed, the app is left "
                            "unchanged");
        config_free(&cfg);
        return 0;
    }
    report_warnings(st, &cfg);
    struct staging_plan plan = {0};
    rc = make_plan(st, &cfg, &plan, err, sizeof err);
    if (rc == 0)
        rc = droplet_write(st, &cfg, &plan, err, sizeof err);
    if (rc == 0 && plan.cookie.source == SOURCE_GENERATED)
        cookie_plan_keep_in_cache(st, &plan.cookie);
    if (rc == 0)
        report_staged(st, &cfg, &plan);
    else
        log_failure(st->errout, "%s", err);
    plan_free(&plan);
    config_free(&cfg);
    return rc == 0 ? 0 : 1;
}
