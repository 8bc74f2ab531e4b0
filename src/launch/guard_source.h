/* Reading what the flag guard (flag_guard.h) checks: an args file read whole or refused, the
 * directory a relative -args_file is read from, a flag word in shell text. */
#ifndef ECB_LAUNCH_GUARD_SOURCE_H
#define ECB_LAUNCH_GUARD_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "launch/flag_guard.h"

#define GUARD_ARGS_FILE_MAX (256 * 1024)

/* The whole of the regular file path into *text (malloc'd, NUL-terminated). Returns 0 read,
 * 1 no such file, -1 anything else (not a regular file, unreadable, larger than
 * GUARD_ARGS_FILE_MAX, a NUL byte in it; why says which). Never blocks on a FIFO. */
int guard_read_args_file(const char *path, char **text, char *why, size_t whylen);

/* The directory the app's BEAM starts in, into buf. Returns 0, or -1 with one line in err. */
int guard_start_dir(const struct flag_guard_input *in, char *buf, size_t buflen, char *err,
                    size_t errlen);

/* Whether shell text has flag as a word (blanks, quotes or '=' around it). */
bool guard_text_has_flag(const char *line, const char *flag);

#endif
