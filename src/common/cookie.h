/* Reading an Erlang cookie file: the one set of rules staging, the launch step and the agent
 * share. The file (symbolic links followed) must be a regular file of at most COOKIE_FILE_MAX
 * bytes; its trailing blanks and line ends (space, tab, CR, LF) are dropped; what remains
 * must pass cookie_text_valid (common/secret.h): 1..COOKIE_TEXT_MAX printable ASCII
 * characters without blanks, so a second line is refused rather than ignored. Messages
 * never show the content. */
#ifndef ECB_COOKIE_H
#define ECB_COOKIE_H

#include <stddef.h>

#include "common/secret.h"

#define COOKIE_FILE_MAX 4096

enum cookie_read {
    COOKIE_READ_OK,      /* *cookie holds it: release it with secret_free */
    COOKIE_READ_MISSING, /* there is no file at path */
    COOKIE_READ_FAILED,  /* not a regular file, too large, or unreadable (err says which) */
    COOKIE_READ_INVALID, /* read, but not a usable cookie once trimmed */
};

/* Reads the cookie in path into *cookie (NULL unless COOKIE_READ_OK). Every outcome but OK
 * leaves one line in err naming path. Every byte read is wiped before it is given back. */
enum cookie_read cookie_read_file(const char *path, char **cookie, char *err, size_t errlen);

#endif
