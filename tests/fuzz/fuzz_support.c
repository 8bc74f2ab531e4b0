#include "fuzz_support.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz property broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        fuzz_fail("out of memory copying %zu bytes", size);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

int fuzz_memfile_open(char *path, size_t pathlen)
{
    int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
    if (fd < 0)
        fuzz_fail("memfd_create: %s", strerror(errno));
    snprintf(path, pathlen, "/proc/self/fd/%d", fd);
    return fd;
}

void fuzz_memfile_set(int fd, const void *data, size_t size)
{
    if (ftruncate(fd, 0) != 0)
        fuzz_fail("ftruncate of the input file: %s", strerror(errno));
    const char *p = data;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fd, p + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fuzz_fail("pwrite of the input file: %s", n < 0 ? strerror(errno) : "short write");
        done += (size_t)n;
    }
}

void fuzz_scratch_dir(char *path, size_t pathlen)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, pathlen, "%s/ecb-fuzz-XXXXXX", base);
    if (mkdtemp(path) == NULL)
        fuzz_fail("mkdtemp %s: %s", path, strerror(errno));
}

void fuzz_scratch_remove(const char *dir, const char *const *names)
{
    char path[4096];
    for (const char *const *n = names; *n != NULL; n++) {
        snprintf(path, sizeof path, "%s/%s", dir, *n);
        if (unlink(path) != 0 && errno != ENOENT)
            fprintf(stderr, "removing %s: %s\n", path, strerror(errno));
    }
    if (rmdir(dir) != 0)
        fprintf(stderr, "removing %s: %s\n", dir, strerror(errno));
}

void fuzz_check_message(const char *what, const char *err)
{
    if (err[0] == '\0')
        fuzz_fail("%s failed without an error message", what);
    for (const char *p = err; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            fuzz_fail("%s: error message has control character 0x%02x: %s", what,
                      (unsigned char)*p, err);
}

int fuzz_only_chars(const char *s, int alnum, const char *allowed)
{
    for (; *s != '\0'; s++)
        if (!(alnum && isalnum((unsigned char)*s)) && strchr(allowed, *s) == NULL)
            return 0;
    return 1;
}
