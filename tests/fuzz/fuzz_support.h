/* Helpers shared by the fuzz targets: turning the fuzzer's bytes into the inputs the parsers
 * take (C strings, files, environment arrays) and checking properties every answer must have.
 * A broken property calls abort(), which libFuzzer and the replay driver report as a crash. */
#ifndef ECB_FUZZ_SUPPORT_H
#define ECB_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* The bytes as a malloc'd NUL-terminated string (an embedded NUL ends it early, as it would
 * in an environment variable). Aborts when out of memory. */
char *fuzz_cstring(const uint8_t *data, size_t size);

/* A memory-backed regular file for parsers that read a path. fuzz_memfile_open fills path
 * (at least 64 bytes) with a name that opens it; fuzz_memfile_set replaces its content. */
int fuzz_memfile_open(char *path, size_t pathlen);
void fuzz_memfile_set(int fd, const void *data, size_t size);

/* A fresh directory under $TMPDIR (else /dev/shm, else /tmp) for files a parser writes;
 * removed at exit with fuzz_scratch_remove (a crash leaves it: tests/fuzz/run and
 * tests/fuzz/replay point TMPDIR at a directory they remove). */
void fuzz_scratch_dir(char *path, size_t pathlen);
void fuzz_scratch_remove(const char *dir, const char *const *names);

/* An error message as users see it: not empty, one line, no control characters. */
void fuzz_check_message(const char *what, const char *err);

/* Every byte of s is in allowed (or s is a letter or digit when alnum is set). */
int fuzz_only_chars(const char *s, int alnum, const char *allowed);

/* Prints why and aborts. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
