/* The certificates the registry client trusts: the system store plus the platform's own
 * (CF_SYSTEM_CERT_PATH), read once into one PEM blob for libcurl. */
#include "discovery/http.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int append_file(char **buf, size_t *len, size_t *cap, const char *path, char *err,
                       size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read CA certificates %s: %s", path, strerror(errno));
        return -1;
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (*len + n + 2 > *cap) {
            size_t ncap = (*cap ? *cap * 2 : 65536);
            while (ncap < *len + n + 2)
                ncap *= 2;
            char *nbuf = realloc(*buf, ncap);
            if (!nbuf) {
                snprintf(err, errlen, "cannot read CA certificates %s: out of memory", path);
                fclose(f);
                return -1;
            }
            *buf = nbuf;
            *cap = ncap;
        }
        memcpy(*buf + *len, chunk, n);
        *len += n;
    }
    bool failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        snprintf(err, errlen, "cannot read CA certificates %s: %s", path, strerror(errno));
        return -1;
    }
    /* Concatenated PEM files need a line break between them. */
    if (*len > 0 && (*buf)[*len - 1] != '\n')
        (*buf)[(*len)++] = '\n';
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
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    if (default_bundle && append_file(&buf, len, &cap, default_bundle, err, errlen) != 0) {
        /* A missing system store is survivable when the platform gives its own CAs. */
        if (!extra_ca_dir) {
            free(buf);
            return NULL;
        }
    }
    if (extra_ca_dir && *extra_ca_dir) {
        DIR *dir = opendir(extra_ca_dir);
        if (!dir) {
            snprintf(err, errlen, "cannot open CF_SYSTEM_CERT_PATH directory %s: %s", extra_ca_dir,
                     strerror(errno));
            free(buf);
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
            if (append_file(&buf, len, &cap, path, err, errlen) != 0) {
                closedir(dir);
                free(buf);
                return NULL;
            }
        }
        closedir(dir);
    }
    if (!buf || *len == 0) {
        snprintf(err, errlen, "no CA certificates found (system store %s, CF_SYSTEM_CERT_PATH %s)",
                 default_bundle ? default_bundle : "none", extra_ca_dir ? extra_ca_dir : "unset");
        free(buf);
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}
