#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_MAX_BYTES (256u * 1024u * 1024u)

char *fs_join(const char *dir, const char *name)
{
    size_t dlen = strlen(dir);
    int need_slash = dlen > 0 && dir[dlen - 1] != '/';
    size_t len = dlen + (size_t)need_slash + strlen(name) + 1;
    char *path = malloc(len);
    if (path == NULL)
        return NULL;
    snprintf(path, len, "%s%s%s", dir, need_slash ? "/" : "", name);
    return path;
}

int fs_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen)
{
    if (path[0] == '\0') {
        snprintf(err, errlen, "creating directory: the path is empty");
        return -1;
    }
    char *copy = strdup(path);
    if (copy == NULL) {
        snprintf(err, errlen, "creating directory %s: out of memory", path);
        return -1;
    }
    int rc = 0;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, mode) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "creating directory %s: %s", copy, strerror(errno));
            rc = -1;
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    if (rc == 0) {
        struct stat st;
        if (stat(path, &st) != 0) {
            snprintf(err, errlen, "creating directory %s: %s", path, strerror(errno));
            rc = -1;
        } else if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "creating directory %s: a file of that name is in the way",
                     path);
            rc = -1;
        }
    }
    free(copy);
    return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                    size_t errlen)
{
    size_t tmplen = strlen(path) + sizeof ".tmp.XXXXXX";
    char *tmp = malloc(tmplen);
    if (tmp == NULL) {
        snprintf(err, errlen, "writing %s: out of memory", path);
        return -1;
    }
    snprintf(tmp, tmplen, "%s.tmp.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "writing %s: creating a temporary file: %s", path,
                 strerror(errno));
        free(tmp);
        return -1;
    }
    const char *what = NULL;
    if (write_all(fd, data, len) != 0)
        what = "writing";
    else if (fchmod(fd, mode) != 0)
        what = "setting the mode of";
    else if (fsync(fd) != 0)
        what = "syncing";
    int saved = errno;
    if (close(fd) != 0 && what == NULL) {
        what = "closing";
        saved = errno;
    }
    if (what == NULL && rename(tmp, path) != 0) {
        what = "renaming into place";
        saved = errno;
    }
    if (what != NULL) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(saved));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

/* Overwrites len bytes, then frees: what a file held may be a secret (the cookie). */
static void wipe_free(char *buf, size_t len)
{
    if (buf != NULL)
        explicit_bzero(buf, len);
    free(buf);
}

/* A buffer of new_cap bytes holding buf's first used bytes; buf is wiped and freed (realloc
 * would give a moved block back unwiped). NULL when out of memory (buf untouched). */
static char *grow_buffer(char *buf, size_t used, size_t cap, size_t new_cap)
{
    char *bigger = malloc(new_cap);
    if (bigger == NULL)
        return NULL;
    memcpy(bigger, buf, used);
    wipe_free(buf, cap);
    return bigger;
}

/* One byte past a full buffer: 0 at the end of the file, 1 when there is more, -1 on error. */
static int more_to_read(int fd)
{
    char probe;
    for (;;) {
        ssize_t n = read(fd, &probe, 1);
        if (n < 0 && errno == EINTR)
            continue;
        explicit_bzero(&probe, sizeof probe);
        return n < 0 ? -1 : n > 0;
    }
}

int fs_read_file(const char *path, size_t max_bytes, char **out, size_t *len, char *err,
                 size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "reading %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "reading %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "reading %s: not a regular file", path);
        close(fd);
        return -1;
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        snprintf(err, errlen, "reading %s: larger than %zu bytes", path, max_bytes);
        close(fd);
        return -1;
    }
    /* The size is a hint (a file may grow while read; procfs says 0): a full buffer grows up
     * to max_bytes + 1, and a buffer full at max_bytes is too large only if a byte follows. */
    size_t cap = (size_t)st.st_size + 1, used = 0;
    char *buf = malloc(cap);
    const char *failed = NULL;
    int saved = 0;
    if (buf == NULL)
        failed = "out of memory";
    while (failed == NULL) {
        if (used + 1 == cap) {
            if (used >= max_bytes) {
                int more = more_to_read(fd);
                if (more != 0) {
                    saved = errno;
                    failed = more > 0 ? "larger than" : "read";
                }
                break;
            }
            size_t new_cap = cap > max_bytes / 2 ? max_bytes + 1 : cap * 2;
            char *bigger = grow_buffer(buf, used, cap, new_cap);
            if (bigger == NULL) {
                failed = "out of memory";
                break;
            }
            buf = bigger;
            cap = new_cap;
        }
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            saved = errno;
            failed = "read";
        } else if (n == 0) {
            break;
        } else {
            used += (size_t)n;
        }
    }
    if (close(fd) != 0 && failed == NULL) {
        saved = errno;
        failed = "read";
    }
    if (failed != NULL) {
        if (strcmp(failed, "larger than") == 0)
            snprintf(err, errlen, "reading %s: larger than %zu bytes", path, max_bytes);
        else if (strcmp(failed, "read") == 0)
            snprintf(err, errlen, "reading %s: %s", path, strerror(saved));
        else
            snprintf(err, errlen, "reading %s: %s", path, failed);
        wipe_free(buf, cap);
        return -1;
    }
    buf[used] = '\0';
    *out = buf;
    if (len != NULL)
        *len = used;
    return 0;
}

int fs_copy_file(const char *src, const char *dst, mode_t mode, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    if (fs_read_file(src, COPY_MAX_BYTES, &data, &len, err, errlen) != 0)
        return -1;
    int rc = fs_write_atomic(dst, data, len, mode, err, errlen);
    free(data);
    return rc;
}

char *fs_program_root(char *err, size_t errlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe);
    if (n < 0) {
        snprintf(err, errlen, "readlink /proc/self/exe: %s", strerror(errno));
        return NULL;
    }
    if ((size_t)n >= sizeof exe) {
        snprintf(err, errlen, "readlink /proc/self/exe: the path is longer than %zu bytes",
                 sizeof exe - 1);
        return NULL;
    }
    exe[n] = '\0';
    for (int up = 0; up < 2; up++) { /* <root>/bin/<program> -> <root> */
        char *slash = strrchr(exe, '/');
        if (slash == NULL || slash == exe) {
            snprintf(err, errlen, "%s is not ROOT/bin/PROGRAM", exe);
            return NULL;
        }
        *slash = '\0';
    }
    char *root = strdup(exe);
    if (root == NULL)
        snprintf(err, errlen, "finding the program's root: out of memory");
    return root;
}
