#include "supply/supply.h"
#include "common/secret.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/vm_args.h"

#define ERRLEN 1024
#define COOKIE_LENGTH 32
#define COOKIE_FILE ".erlang.cookie"
#define CACHED_COOKIE_FILE "erlang-cluster-cookie" /* in CACHE_DIR, for the next staging */
#define TEMPLATE_PATH "templates/erlang-cluster.sh"
#define WRAPPER_NAME "erlang-cluster.sh"
#define AGENT_NAME "erlang-cluster-agent"
#define CJSON_NAME "libcjson.so.1"
#define IDX_PLACEHOLDER "@@DEPS_IDX@@"

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

/* The app's own cookie file: kept as it is (its mode tightened at write time). */
static int read_app_cookie(const char *path, struct cookie_plan *cookie, char *err,
                           size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen,
                 "%s: not a regular file; remove it to get a generated cookie, or make it a "
                 "file holding the cookie",
                 path);
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    if (fs_read_file(path, 4096, &text, &len, err, errlen) != 0)
        return -1;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        text[--len] = '\0';
    bool ok = strlen(text) == len && cookie_text_valid(text);
    if (ok)
        memcpy(cookie->value, text, len + 1);
    explicit_bzero(text, len);
    free(text);
    if (!ok) {
        snprintf(err, errlen,
                 "%s: not a usable cookie (content not shown); it must hold 1 to %d printable "
                 "ASCII characters without spaces, or remove it to get a generated cookie",
                 path, COOKIE_TEXT_MAX);
        return -1;
    }
    cookie->source = SOURCE_APP;
    cookie->app_file_mode_ok = (st.st_mode & 07777) == 0400;
    return 0;
}

/* COOKIE_LENGTH characters of [A-Za-z0-9] from the kernel's CSPRNG; bytes >= 248 are
 * dropped so that every character is equally likely. */
static int generate_cookie(char *out, char *err, size_t errlen)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t have = 0;
    unsigned char bytes[64];
    for (int rounds = 0; have < COOKIE_LENGTH; rounds++) {
        if (rounds > 64) {
            snprintf(err, errlen, "generating the cookie: getrandom keeps returning too little");
            return -1;
        }
        ssize_t n = getrandom(bytes, sizeof bytes, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "generating the cookie: getrandom: %s", strerror(errno));
            return -1;
        }
        for (ssize_t i = 0; i < n && have < COOKIE_LENGTH; i++)
            if (bytes[i] < 248)
                out[have++] = alphabet[bytes[i] % 62];
    }
    out[have] = '\0';
    explicit_bzero(bytes, sizeof bytes);
    return 0;
}

/* The cookie an earlier staging left in the build cache, into out. Never fails staging: an
 * unusable file is reported (problem) and replaced. */
static enum cached_cookie read_cached_cookie(const char *cache_dir, char *out, char *problem,
                                             size_t problemlen)
{
    char *path = fs_join(cache_dir, CACHED_COOKIE_FILE);
    if (path == NULL) {
        snprintf(problem, problemlen, "out of memory");
        return CACHED_UNUSABLE;
    }
    enum cached_cookie result = CACHED_UNUSABLE;
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            result = CACHED_NONE;
        else
            snprintf(problem, problemlen, "%s", strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(problem, problemlen, "not a regular file");
    } else if (fs_read_file(path, 4096, &text, &len, problem, problemlen) == 0) {
        if (strlen(text) == len && len >= 1 && len <= COOKIE_TEXT_MAX && cookie_text_valid(text)) {
            memcpy(out, text, len + 1);
            result = CACHED_KEPT;
        } else {
            snprintf(problem, problemlen, "malformed content");
        }
        explicit_bzero(text, len);
    }
    free(text);
    free(path);
    return result;
}

/* Keeps a generated cookie for the next staging (mode 0600: the cache is the buildpack's
 * own). A failure costs only a new cookie next time, so it is a warning. */
static void keep_cookie_in_cache(const struct stager *st, const struct cookie_plan *c)
{
    char err[ERRLEN];
    char *path = fs_join(st->cache_dir, CACHED_COOKIE_FILE);
    if (path == NULL) {
        log_warning(st->out, "cannot keep the cookie in the build cache: out of memory; the "
                             "next staging will generate a new one");
        return;
    }
    if (fs_mkdir_p(st->cache_dir, 0755, err, sizeof err) != 0 ||
        fs_write_atomic(path, c->value, strlen(c->value), 0600, err, sizeof err) != 0)
        log_warning(st->out, "cannot keep the cookie in the build cache (%s); the next staging "
                             "will generate a new one, and its instances will not connect to "
                             "this droplet's",
                    err);
    free(path);
}

static int plan_cookie(const struct stager *st, const struct config *cfg, struct cookie_plan *c,
                       char *err, size_t errlen)
{
    char *path = fs_join(st->build_dir, COOKIE_FILE);
    if (path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* ERLANG_CLUSTER_COOKIE wins over the app's own file, as it does at run time (the
     * variable is set in both); a service's cookie is a credential, read at run time only. */
    if (cfg->cookie != NULL && cfg->source[FIELD_COOKIE] == SOURCE_ENV) {
        struct stat st_app;
        c->replaces_app_file = lstat(path, &st_app) == 0;
        free(path);
        snprintf(c->value, sizeof c->value, "%s", cfg->cookie);
        c->source = SOURCE_ENV;
        return 0;
    }
    int rc = read_app_cookie(path, c, err, errlen);
    free(path);
    if (rc <= 0)
        return rc;
    c->source = SOURCE_GENERATED;
    /* Every droplet of the app shares the cookie, so a rolling deploy's new instances join
     * the old ones; a cache that is gone or unusable only means a new cookie. */
    c->cached = read_cached_cookie(st->cache_dir, c->value, c->cache_problem,
                                   sizeof c->cache_problem);
    if (c->cached == CACHED_KEPT)
        return 0;
    return generate_cookie(c->value, err, errlen);
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
    rc = plan_cookie(st, cfg, &plan->cookie, err, errlen);
done:
    free(template_path);
    free(template_text);
    return rc;
}

static int write_in(const char *dir, const char *name, const char *text, mode_t mode, char *err,
                    size_t errlen)
{
    char *path = fs_join(dir, name);
    if (path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = fs_write_atomic(path, text, strlen(text), mode, err, errlen);
    free(path);
    return rc;
}

static int copy_into(const char *src, const char *dir, const char *name, mode_t mode, char *err,
                     size_t errlen)
{
    char *dst = fs_join(dir, name);
    if (dst == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = fs_copy_file(src, dst, mode, err, errlen);
    free(dst);
    return rc;
}

static int write_cookie(const struct stager *st, const struct cookie_plan *c, char *err,
                        size_t errlen)
{
    char *path = fs_join(st->build_dir, COOKIE_FILE);
    if (path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    if (c->source == SOURCE_APP) {
        /* Erlang refuses to boot with group or other bits on the cookie file. */
        if (!c->app_file_mode_ok && chmod(path, 0400) != 0) {
            snprintf(err, errlen, "setting mode 0400 on %s: %s", path, strerror(errno));
            rc = -1;
        }
    } else {
        rc = fs_write_atomic(path, c->value, strlen(c->value), 0400, err, errlen);
    }
    free(path);
    return rc;
}

static int write_droplet(const struct stager *st, const struct config *cfg,
                         const struct staging_plan *plan, char *err, size_t errlen)
{
    const char *dir = plan->deps_idx_dir;
    char *bin = fs_join(dir, "bin"), *lib = fs_join(dir, "lib");
    char *profile = fs_join(dir, "profile.d"), *app_profile = fs_join(st->build_dir, ".profile.d");
    char *config_yml = fs_join(dir, "config.yml");
    int rc = -1;
    if (bin == NULL || lib == NULL || profile == NULL || app_profile == NULL ||
        config_yml == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (fs_mkdir_p(bin, 0755, err, errlen) != 0 || fs_mkdir_p(lib, 0755, err, errlen) != 0 ||
        fs_mkdir_p(profile, 0755, err, errlen) != 0 ||
        fs_mkdir_p(app_profile, 0755, err, errlen) != 0 ||
        copy_into(plan->agent_src, bin, AGENT_NAME, 0755, err, errlen) != 0 ||
        copy_into(plan->cjson_src, lib, CJSON_NAME, 0644, err, errlen) != 0 ||
        write_in(dir, "vm.args", plan->vm_args, 0644, err, errlen) != 0 ||
        config_write_staged(cfg, config_yml, err, errlen) != 0 ||
        write_in(profile, WRAPPER_NAME, plan->wrapper, 0644, err, errlen) != 0 ||
        write_in(app_profile, WRAPPER_NAME, plan->wrapper, 0644, err, errlen) != 0 ||
        write_cookie(st, &plan->cookie, err, errlen) != 0)
        goto done;
    rc = 0;
done:
    free(bin);
    free(lib);
    free(profile);
    free(app_profile);
    free(config_yml);
    return rc;
}

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

static const char *app_or_placeholder(const struct config *cfg)
{
    return cfg->app_name != NULL && *cfg->app_name != '\0' ? cfg->app_name : "APP";
}

/* The app name as one shell word, so the printed command can be pasted as it is. */
static const char *shell_word(const char *word, char *buf, size_t len)
{
    if (strspn(word, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
        strlen(word))
        return word;
    size_t n = 0;
    buf[n++] = '\'';
    for (const char *c = word; *c != '\0' && n + 5 < len; c++) {
        if (*c == '\'') {
            memcpy(buf + n, "'\\''", 4);
            n += 4;
        } else {
            buf[n++] = *c;
        }
    }
    buf[n++] = '\'';
    buf[n] = '\0';
    return buf;
}

static void report_discovery(FILE *out, const struct config *cfg)
{
    char *registry_app = NULL;
    char quoted[512];
    const char *app = shell_word(app_or_placeholder(cfg), quoted, sizeof quoted);
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
}

static void report(const struct stager *st, const struct config *cfg,
                   const struct staging_plan *plan)
{
    FILE *out = st->out;
    char quoted[512];
    const char *app = shell_word(app_or_placeholder(cfg), quoted, sizeof quoted);
    report_discovery(out, cfg);
    log_detail(out, "Node name: %s@$CF_INSTANCE_INTERNAL_IP (cluster %s; process types: %s)",
               cfg->node_basename, cfg->cluster_name, cfg->process_types);
    if (cfg->epmd)
        log_detail(out, "Distribution: epmd on port %d, node on port %d; net_ticktime %d s",
                   EPMD_PORT, cfg->dist_port, cfg->net_ticktime);
    else
        log_detail(out, "Distribution: epmd-less on port %d; net_ticktime %d s", cfg->dist_port,
                   cfg->net_ticktime);
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
    warn_unknown_variables(st);
    struct staging_plan plan = {0};
    rc = make_plan(st, &cfg, &plan, err, sizeof err);
    if (rc == 0)
        rc = write_droplet(st, &cfg, &plan, err, sizeof err);
    if (rc == 0 && plan.cookie.source == SOURCE_GENERATED)
        keep_cookie_in_cache(st, &plan.cookie);
    if (rc == 0)
        report(st, &cfg, &plan);
    else
        log_failure(st->errout, "%s", err);
    plan_free(&plan);
    config_free(&cfg);
    return rc == 0 ? 0 : 1;
}
