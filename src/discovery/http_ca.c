/* The certificates the registry client trusts: the system store plus the platform's own
 * (CF_SYSTEM_CERT_PATH). They are checked for readability when the client is made, and at the
 * first HTTPS request written out one file per certificate, named by subject hash: OpenSSL's
 * lookup directory (CURLOPT_CAPATH). A handshake then loads only the issuer it needs, where a
 * PEM bundle (CURLOPT_CAINFO) is parsed whole into every connection libcurl keeps: about
 * 140 certificates, 1.5 MB of the agent's heap more than its plain-http configuration. */
#include "discovery/http.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SAME_HASH 100 /* certificates whose subjects hash alike (OpenSSL's .0, .1 …) */

/* Called for each certificate file; returns 0 to go on, -1 with err set to stop. */
typedef int (*ca_file_fn)(const char *path, void *ctx, char *err, size_t errlen);

static bool has_cert_suffix(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && (strcmp(name + n - 4, ".pem") == 0 || strcmp(name + n - 4, ".crt") == 0));
}

/* The system bundle, then every *.pem / *.crt in extra_ca_dir. A missing system store is
 * survivable when the platform gives its own CAs. *files counts the files read. */
static int for_each_ca_file(const char *default_bundle, const char *extra_ca_dir, ca_file_fn fn,
                            void *ctx, size_t *files, char *err, size_t errlen)
{
    *files = 0;
    if (default_bundle) {
        if (fn(default_bundle, ctx, err, errlen) == 0)
            ++*files;
        else if (!extra_ca_dir)
            return -1;
    }
    if (!extra_ca_dir || !*extra_ca_dir)
        return 0;
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
        if (fn(path, ctx, err, errlen) != 0) {
            closedir(dir);
            return -1;
        }
        ++*files;
    }
    closedir(dir);
    return 0;
}

/* Reads the file through, keeping nothing; *(size_t *)ctx grows by its size. */
static int read_through(const char *path, void *ctx, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read CA certificates %s: %s", path, strerror(errno));
        return -1;
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        *(size_t *)ctx += n;
    bool failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        snprintf(err, errlen, "cannot read CA certificates %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int http_check_ca_bundle(const char *default_bundle, const char *extra_ca_dir, char *err,
                         size_t errlen)
{
    size_t bytes = 0, files = 0;
    if (for_each_ca_file(default_bundle, extra_ca_dir, read_through, &bytes, &files, err,
                         errlen) != 0)
        return -1;
    if (bytes == 0) {
        snprintf(err, errlen, "no CA certificates found (system store %s, CF_SYSTEM_CERT_PATH %s)",
                 default_bundle ? default_bundle : "none", extra_ca_dir ? extra_ca_dir : "unset");
        return -1;
    }
    return 0;
}

struct trust_dir {
    const char *path;
    size_t certs;
};

/* Writes one certificate as <subject hash>.<n>, the first n not taken. */
static int write_cert(struct trust_dir *td, X509 *cert, const char *from, char *err,
                      size_t errlen)
{
    unsigned long hash = X509_subject_name_hash(cert);
    for (int n = 0; n < MAX_SAME_HASH; n++) {
        char path[4096];
        int len = snprintf(path, sizeof path, "%s/%08lx.%d", td->path, hash, n);
        if (len < 0 || (size_t)len >= sizeof path) {
            snprintf(err, errlen, "trust directory path too long: %s", td->path);
            return -1;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno == EEXIST)
            continue;
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            snprintf(err, errlen, "cannot write %s (a certificate of %s): %s", path, from,
                     strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        bool written = PEM_write_X509(f, cert) == 1;
        if (fclose(f) != 0 || !written) {
            snprintf(err, errlen, "cannot write %s (a certificate of %s)", path, from);
            return -1;
        }
        td->certs++;
        return 0;
    }
    snprintf(err, errlen, "more than %d CA certificates with one subject hash %08lx (in %s)",
             MAX_SAME_HASH, hash, from);
    return -1;
}

/* Every PEM certificate of the file into the directory; other PEM blocks are skipped. */
static int write_file_certs(const char *path, void *ctx, char *err, size_t errlen)
{
    struct trust_dir *td = ctx;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read CA certificates %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    X509 *cert;
    ERR_clear_error();
    while (rc == 0 && (cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        rc = write_cert(td, cert, path, err, errlen);
        X509_free(cert);
    }
    unsigned long e = ERR_peek_last_error();
    ERR_clear_error();
    if (rc == 0 && e != 0 &&
        !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
        snprintf(err, errlen, "cannot parse a certificate in %s: %s", path,
                 ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "bad PEM");
        rc = -1;
    }
    fclose(f); /* read only: nothing to lose */
    return rc;
}

/* An empty directory at path: made, or emptied of what an earlier run wrote. */
static int empty_dir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno != EEXIST) {
        snprintf(err, errlen, "cannot create trust directory %s: %s", path, strerror(errno));
        return -1;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        snprintf(err, errlen, "cannot open trust directory %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(dir), entry->d_name, 0) != 0) {
            snprintf(err, errlen, "cannot empty trust directory %s (%s): %s", path,
                     entry->d_name, strerror(errno));
            rc = -1;
        }
    }
    closedir(dir);
    return rc;
}

long http_write_trust_dir(const char *default_bundle, const char *extra_ca_dir, const char *dir,
                          char *err, size_t errlen)
{
    if (empty_dir(dir, err, errlen) != 0)
        return -1;
    struct trust_dir td = {.path = dir};
    size_t files = 0;
    if (for_each_ca_file(default_bundle, extra_ca_dir, write_file_certs, &td, &files, err,
                         errlen) != 0)
        return -1;
    if (td.certs == 0) {
        snprintf(err, errlen, "no CA certificates found (system store %s, CF_SYSTEM_CERT_PATH %s)",
                 default_bundle ? default_bundle : "none", extra_ca_dir ? extra_ca_dir : "unset");
        return -1;
    }
    return (long)td.certs;
}
