/* The droplet's cookie: where it comes from (the environment, the app's file, the build
 * cache, or generated), and writing it. */
#include "supply/staging_plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "common/fsutil.h"
#include "common/log.h"

#define ERRLEN 1024
#define COOKIE_LENGTH 32
#define CACHED_COOKIE_FILE "erlang-cluster-cookie" /* in CACHE_DIR, for the next staging */

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
void cookie_plan_keep_in_cache(const struct stager *st, const struct cookie_plan *c)
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

int cookie_plan_make(const struct stager *st, const struct config *cfg, struct cookie_plan *c,
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

int cookie_plan_write(const struct stager *st, const struct cookie_plan *c, char *err,
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
