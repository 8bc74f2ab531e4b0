/* The certificates the registry client trusts: the system store plus the platform's own
 * (CF_SYSTEM_CERT_PATH), read into one PEM blob for libcurl, or only checked for readability
 * (a plain-http client needs no blob, and 215 KB of PEM kept for nothing is a tenth of the
 * agent's private memory). */
#include "discovery/http.h"

#include "common/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends the file at path to bundle, ending in a line break: concatenated PEM files need
 * one between them. With keep false the file is read but not kept; only bundle->len grows. */
static int append_file(struct strbuf *bundle, bool keep, const char *path, char *err,
                       size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read CA certificates %s: %s", path, strerror(errno));
        return -1;
    }
    char chunk[8192];
    size_t n;
    char last = '\n';
    bool out_of_memory = false;
    while (!out_of_memory && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        last = chunk[n - 1];
        if (keep)
            out_of_memory = strbuf_append_len(bundle, chunk, n) != 0;
        else
            bundle->len += n;
    }
    if (!keep && last != '\n')
        bundle->len++;
    bool failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        snprintf(err, errlen, "cannot read CA certificates %s: %s", path, strerror(errno));
        return -1;
    }
    if (keep && !out_of_memory && bundle->len > 0 && bundle->data[bundle->len - 1] != '\n')
        out_of_memory = strbuf_append(bundle, "\n") != 0;
    if (out_of_memory) {
        snprintf(err, errlen, "cannot read CA certificates %s: out of memory", path);
        return -1;
    }
    return 0;
}

static bool has_cert_suffix(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && (strcmp(name + n - 4, ".pem") == 0 || strcmp(name + n - 4, ".crt") == 0));
}

/* Reads every certificate file; keep says whether their text goes into bundle. */
static int read_ca_files(struct strbuf *bundle, bool keep, const char *default_bundle,
                         const char *extra_ca_dir, char *err, size_t errlen)
{
    if (default_bundle && append_file(bundle, keep, default_bundle, err, errlen) != 0) {
        /* A missing system store is survivable when the platform gives its own CAs. */
        if (!extra_ca_dir)
            return -1;
    }
    if (extra_ca_dir && *extra_ca_dir) {
        DIR *dir = opendir(extra_ca_dir);
        if (!dir) {
            snprintf(err, errlen, "cannot open CF_SYSTEM_CERT_PATH directory %s: %s", extra_ca_dir,
                     strerror(errno));
            return -1;
        }
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] == '.' || !has_cert_suffix(entry->d_name))
                continue;
            char path[4096];
            int n = snprintf(path, sizeof path, "%s/%s", extra_ca_dir, entry->d_name);
            if (n < 0 || (size_t)n >= sizeof path)
                continue;
            if (append_file(bundle, keep, path, err, errlen) != 0) {
                closedir(dir);
                return -1;
            }
        }
        closedir(dir);
    }
    if (bundle->len == 0) {
        snprintf(err, errlen, "no CA certificates found (system store %s, CF_SYSTEM_CERT_PATH %s)",
                 default_bundle ? default_bundle : "none", extra_ca_dir ? extra_ca_dir : "unset");
        return -1;
    }
    return 0;
}

char *http_build_ca_bundle(const char *default_bundle, const char *extra_ca_dir, size_t *len,
                           char *err, size_t errlen)
{
    struct strbuf bundle = {0};
    *len = 0;
    if (read_ca_files(&bundle, true, default_bundle, extra_ca_dir, err, errlen) != 0) {
        strbuf_release(&bundle);
        return NULL;
    }
    return strbuf_detach(&bundle, len);
}

int http_check_ca_bundle(const char *default_bundle, const char *extra_ca_dir, char *err,
                         size_t errlen)
{
    struct strbuf counted = {0};
    return read_ca_files(&counted, false, default_bundle, extra_ca_dir, err, errlen);
}
