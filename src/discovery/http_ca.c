/* The certificates the registry client trusts: the system store plus the platform's own
 * (CF_SYSTEM_CERT_PATH), read once into one PEM blob for libcurl. */
#include "discovery/http.h"

#include "common/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends the file at path to bundle, ending in a line break: concatenated PEM files need
 * one between them. */
static int append_file(struct strbuf *bundle, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read CA certificates %s: %s", path, strerror(errno));
        return -1;
    }
    char chunk[8192];
    size_t n;
    bool out_of_memory = false;
    while (!out_of_memory && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        out_of_memory = strbuf_append_len(bundle, chunk, n) != 0;
    bool failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        snprintf(err, errlen, "cannot read CA certificates %s: %s", path, strerror(errno));
        return -1;
    }
    if (!out_of_memory && bundle->len > 0 && bundle->data[bundle->len - 1] != '\n')
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

char *http_build_ca_bundle(const char *default_bundle, const char *extra_ca_dir, size_t *len,
                           char *err, size_t errlen)
{
    struct strbuf bundle = {0};
    *len = 0;
    if (default_bundle && append_file(&bundle, default_bundle, err, errlen) != 0) {
        /* A missing system store is survivable when the platform gives its own CAs. */
        if (!extra_ca_dir) {
            strbuf_release(&bundle);
            return NULL;
        }
    }
    if (extra_ca_dir && *extra_ca_dir) {
        DIR *dir = opendir(extra_ca_dir);
        if (!dir) {
            snprintf(err, errlen, "cannot open CF_SYSTEM_CERT_PATH directory %s: %s", extra_ca_dir,
                     strerror(errno));
            strbuf_release(&bundle);
            return NULL;
        }
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] == '.' || !has_cert_suffix(entry->d_name))
                continue;
            char path[4096];
            int n = snprintf(path, sizeof path, "%s/%s", extra_ca_dir, entry->d_name);
            if (n < 0 || (size_t)n >= sizeof path)
                continue;
            if (append_file(&bundle, path, err, errlen) != 0) {
                closedir(dir);
                strbuf_release(&bundle);
                return NULL;
            }
        }
        closedir(dir);
    }
    if (bundle.len == 0) {
        snprintf(err, errlen, "no CA certificates found (system store %s, CF_SYSTEM_CERT_PATH %s)",
                 default_bundle ? default_bundle : "none", extra_ca_dir ? extra_ca_dir : "unset");
        strbuf_release(&bundle);
        return NULL;
    }
    return strbuf_detach(&bundle, len);
}
