#include "launch/tls_setup.h"

#include "common/error.h"
#include "common/fsutil.h"
#include "common/guid.h"
#include "launch/tls_options.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_MAX_BYTES (1024 * 1024)
#define HOW_TO_GO_CLEAR "set ERLANG_CLUSTER_TLS=false to cluster in clear text"

void tls_decision_free(struct tls_decision *d)
{
    tls_identity_free(&d->id);
    d->outcome = TLS_OUTCOME_CLEAR;
    d->line[0] = '\0';
}

static void say(struct tls_decision *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(struct tls_decision *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->line, sizeof d->line, fmt, ap);
    va_end(ap);
}

/* Why the file at path (named by what) is not a usable PEM file with marker, into why; or
 * false when it is. A missing file sets *absent. The key is only opened, never read: its
 * bytes stay out of this process. */
static bool file_problem(const char *what, const char *path, const char *marker, bool *absent,
                         char *why, size_t whylen)
{
    if (path == NULL) {
        snprintf(why, whylen, "%s is not set", what);
        *absent = true;
        return true;
    }
    if (marker == NULL) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
            int e = errno;
            *absent = fd < 0 && e == ENOENT;
            snprintf(why, whylen, "%s %s cannot be read (%s)", what, path,
                     fd < 0 ? strerror(e) : "not a non-empty regular file");
            if (fd >= 0)
                close(fd);
            return true;
        }
        close(fd);
        return false;
    }
    char *text = NULL, ferr[256];
    if (fs_read_file(path, PEM_MAX_BYTES, &text, NULL, ferr, sizeof ferr) != 0) {
        *absent = access(path, F_OK) != 0 && errno == ENOENT;
        snprintf(why, whylen, "%s cannot be read: %s", what, ferr);
        return true;
    }
    bool pem = strstr(text, marker) != NULL;
    free(text);
    if (!pem)
        snprintf(why, whylen, "%s %s holds no PEM certificate", what, path);
    return !pem;
}

/* The identity's own problem (certificate, key), with *absent when it is simply not there. */
static bool identity_problem(const struct config *cfg, bool *absent, char *why, size_t whylen)
{
    *absent = false;
    return file_problem("CF_INSTANCE_CERT", cfg->instance_cert, "-----BEGIN CERTIFICATE-----",
                        absent, why, whylen) ||
           file_problem("CF_INSTANCE_KEY", cfg->instance_key, NULL, absent, why, whylen);
}

/* A Mix or relx release boots from its own lib/: without ssl there, -proto_dist inet_tls
 * stops the VM at boot ("Protocol 'inet_tls': not supported"). */
static bool release_lacks_ssl(const char *release_root, char *why, size_t whylen)
{
    char *lib = fs_join(release_root, "lib");
    DIR *dir = lib ? opendir(lib) : NULL;
    if (dir == NULL) {
        snprintf(why, whylen, "the release's lib directory %s cannot be read (%s)",
                 lib ? lib : release_root, strerror(lib ? errno : ENOMEM));
        free(lib);
        return true;
    }
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(dir)) != NULL;)
        found = strncmp(e->d_name, "ssl-", 4) == 0 && e->d_name[4] >= '0' && e->d_name[4] <= '9';
    closedir(dir);
    if (!found)
        snprintf(why, whylen,
                 "the release in %s has no ssl application (no lib/ssl-*), which TLS "
                 "distribution runs on: add :ssl to extra_applications in mix.exs (Mix), or "
                 "ssl to the release's applications in rebar.config (relx), and push again",
                 release_root);
    free(lib);
    return !found;
}

static int add_allow(struct tls_identity *id, const char *kind, const char *guid)
{
    char ou[64];
    snprintf(ou, sizeof ou, "%s:%s", kind, guid);
    for (size_t i = 0; i < id->allow_count; i++)
        if (strcmp(id->allow[i], ou) == 0)
            return 0;
    if (id->allow_count == TLS_IDENTITY_MAX_ALLOW)
        return 1;
    id->allow[id->allow_count] = strdup(ou);
    if (id->allow[id->allow_count] == NULL)
        return -1;
    id->allow_count++;
    return 0;
}

/* ERLANG_CLUSTER_TLS_ALLOW (checked by the config: lower-case GUIDs and "space") into
 * id->allow. Returns 0, 1 with why (unusable), -1 out of memory. */
static int fill_allow(const struct config *cfg, struct tls_identity *id, char *why,
                      size_t whylen)
{
    if (cfg->tls_allow == NULL)
        return 0;
    const char *p = cfg->tls_allow;
    while (*p) {
        size_t len = strcspn(p, ",");
        char entry[64];
        snprintf(entry, sizeof entry, "%.*s", (int)(len < 63 ? len : 63), p);
        p += len + (p[len] == ',');
        int rc;
        if (strcmp(entry, "space") == 0) {
            if (cfg->space_id == NULL || !guid_valid(cfg->space_id)) {
                snprintf(why, whylen, "ERLANG_CLUSTER_TLS_ALLOW has space, but "
                         "VCAP_APPLICATION's space_id is %s",
                         cfg->space_id ? "not a GUID" : "missing");
                return 1;
            }
            char space[40];
            snprintf(space, sizeof space, "%s", cfg->space_id);
            for (char *c = space; *c; c++)
                *c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
            rc = add_allow(id, "space", space);
        } else if (strcmp(entry, id->app_guid) == 0) {
            continue; /* this app is always allowed */
        } else {
            rc = add_allow(id, "app", entry);
        }
        if (rc < 0)
            return -1;
        if (rc > 0) {
            snprintf(why, whylen, "ERLANG_CLUSTER_TLS_ALLOW names more than %d peers",
                     TLS_IDENTITY_MAX_ALLOW);
            return 1;
        }
    }
    return 0;
}

/* Who may join, for the log line. */
static void describe_peers(const struct tls_identity *id, char *out, size_t outlen)
{
    size_t apps = 0;
    const char *space = NULL;
    for (size_t i = 0; i < id->allow_count; i++) {
        if (strncmp(id->allow[i], "space:", 6) == 0)
            space = id->allow[i] + 6;
        else
            apps++;
    }
    if (space != NULL)
        snprintf(out, outlen, "peers: any app of space %s", space);
    else if (apps > 0)
        snprintf(out, outlen, "peers: this app and %zu more from ERLANG_CLUSTER_TLS_ALLOW", apps);
    else
        snprintf(out, outlen, "peers: this app's instances");
}

static int dup_into(char **dst, const char *src)
{
    *dst = strdup(src);
    return *dst == NULL ? -1 : 0;
}

/* Fills d->id (the identity is there). Returns 0, 1 with why (unusable), -1 out of memory. */
static int fill_identity(const struct config *cfg, struct tls_decision *d, char *why,
                         size_t whylen)
{
    if (cfg->app_id == NULL || !guid_valid(cfg->app_id)) {
        snprintf(why, whylen, "VCAP_APPLICATION's application_id is %s, and peers are "
                 "accepted by their app GUID", cfg->app_id ? "not a GUID" : "missing");
        return 1;
    }
    const char *ca = cfg->tls_ca_file ? cfg->tls_ca_file : cfg->instance_cert;
    bool absent = false;
    if (cfg->tls_ca_file != NULL &&
        file_problem("ERLANG_CLUSTER_TLS_CA_FILE", ca, "-----BEGIN CERTIFICATE-----", &absent,
                     why, whylen))
        return 1;
    if (dup_into(&d->id.certfile, cfg->instance_cert) != 0 ||
        dup_into(&d->id.keyfile, cfg->instance_key) != 0 || dup_into(&d->id.cafile, ca) != 0 ||
        dup_into(&d->id.app_guid, cfg->app_id) != 0)
        return -1;
    for (char *c = d->id.app_guid; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
    int rc = fill_allow(cfg, &d->id, why, whylen);
    if (rc != 0)
        return rc;
    /* The renderer's own checks (absolute printable paths, GUIDs) apply to the real file. */
    char *text = tls_render_optfile(&d->id, why, whylen);
    if (text == NULL)
        return 1;
    free(text);
    return 0;
}

int tls_decide(const struct config *cfg, const char *release_root, struct tls_decision *d,
               char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (cfg->tls == CLUSTER_TLS_OFF)
        return 0;
    const char *mode = cluster_tls_name(cfg->tls);
    const char *from = config_source_name(cfg->source[FIELD_TLS]);
    bool automatic = cfg->tls == CLUSTER_TLS_AUTO, absent = false;
    char why[TLS_DECISION_LINE_MAX - 128];
    if (identity_problem(cfg, &absent, why, sizeof why)) {
        if (automatic && absent) {
            say(d, "clear text (ERLANG_CLUSTER_TLS=auto from %s: no instance identity, %s)",
                from, why);
            return 0;
        }
        d->outcome = TLS_OUTCOME_UNCLUSTERED;
        say(d, "ERLANG_CLUSTER_TLS=%s (from %s) but %s; the app starts unclustered rather "
            "than in clear text (on Cloud Foundry the platform sets both files; %s)",
            mode, from, why, HOW_TO_GO_CLEAR);
        return 0;
    }
    if (release_root != NULL && release_lacks_ssl(release_root, why, sizeof why)) {
        if (automatic) {
            say(d, "clear text (ERLANG_CLUSTER_TLS=auto from %s: %s)", from, why);
            return 0;
        }
        d->outcome = TLS_OUTCOME_UNCLUSTERED;
        say(d, "ERLANG_CLUSTER_TLS=%s (from %s) but %s; until then the app starts "
            "unclustered (or %s)", mode, from, why, HOW_TO_GO_CLEAR);
        return 0;
    }
    int rc = fill_identity(cfg, d, why, sizeof why);
    if (rc < 0) {
        tls_decision_free(d);
        return set_error(err, errlen, "TLS distribution: out of memory");
    }
    if (rc > 0) {
        tls_decision_free(d);
        d->outcome = TLS_OUTCOME_UNCLUSTERED;
        say(d, "ERLANG_CLUSTER_TLS=%s (from %s) but %s; the app starts unclustered rather "
            "than in clear text (%s)", mode, from, why, HOW_TO_GO_CLEAR);
        return 0;
    }
    char peers[160];
    describe_peers(&d->id, peers, sizeof peers);
    d->outcome = TLS_OUTCOME_ON;
    say(d, "mutual TLS with the instance identity (ERLANG_CLUSTER_TLS=%s from %s; %s)", mode,
        from, peers);
    return 0;
}

char *tls_render_optfile(const struct tls_identity *id, char *err, size_t errlen)
{
    const char *apps[TLS_IDENTITY_MAX_ALLOW];
    struct tls_options o = {.certfile = id->certfile, .keyfile = id->keyfile,
                            .cacertfile = id->cafile, .app_guid = id->app_guid,
                            .allow_apps = apps};
    for (size_t i = 0; i < id->allow_count && i < TLS_IDENTITY_MAX_ALLOW; i++) {
        if (strncmp(id->allow[i], "space:", 6) == 0)
            o.space_guid = id->allow[i] + 6;
        else if (strncmp(id->allow[i], "app:", 4) == 0)
            apps[o.allow_apps_count++] = id->allow[i] + 4;
    }
    return tls_options_render(&o, err, errlen);
}
