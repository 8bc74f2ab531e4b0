#include "common/cookie.h"

#include "common/error.h"
#include "common/fsutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool trailing_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum cookie_read cookie_read_file(const char *path, char **cookie, char *err, size_t errlen)
{
    *cookie = NULL;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        set_error(err, errlen, "%s does not exist", path);
        return COOKIE_READ_MISSING;
    }
    char *text = NULL;
    size_t len = 0;
    if (fs_read_file(path, COOKIE_FILE_MAX, &text, &len, err, errlen) != 0)
        return COOKIE_READ_FAILED;
    /* Trimming writes NULs, so the text's strlen covers every byte secret_free must wipe. */
    while (len > 0 && trailing_blank(text[len - 1]))
        text[--len] = '\0';
    bool usable = strlen(text) == len && cookie_text_valid(text);
    if (!usable) {
        explicit_bzero(text, len);
        free(text);
        set_error(err, errlen,
                  "%s does not hold a usable cookie (content not shown): 1 to %d printable "
                  "ASCII characters without blanks",
                  path, COOKIE_TEXT_MAX);
        return COOKIE_READ_INVALID;
    }
    *cookie = text;
    return COOKIE_READ_OK;
}
