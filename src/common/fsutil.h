/* Small file helpers shared by staging, launch preparation and the agent. Each returns 0 on
 * success, or -1 with one line in err saying what failed on which path and why (strerror). */
#ifndef ECB_FSUTIL_H
#define ECB_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Creates path and any missing parents with mode (existing directories are kept as they are). */
int fs_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen);

/* Writes data to path through a temporary file in the same directory, then renames it over
 * path, so readers see the old or the new content, never a part. The file gets exactly mode
 * (umask does not apply) and is fsync'd before the rename. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                    size_t errlen);

/* Reads a whole regular file (at most max_bytes, else an error) into a NUL-terminated buffer
 * the caller frees. *len may be NULL. */
int fs_read_file(const char *path, size_t max_bytes, char **out, size_t *len, char *err,
                 size_t errlen);

/* Copies src to dst atomically (as fs_write_atomic) with mode. */
int fs_copy_file(const char *src, const char *dst, mode_t mode, char *err, size_t errlen);

/* malloc'd "dir/name"; NULL only when out of memory. */
char *fs_join(const char *dir, const char *name);

/* The directory two levels above this program's executable, <root>/bin/<program>: the
 * buildpack's root at staging, the droplet layer at run time. malloc'd; NULL with one line
 * in err (from /proc/self/exe, so symbolic links to the program are resolved). */
char *fs_program_root(char *err, size_t errlen);

#endif
