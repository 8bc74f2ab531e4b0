#include "launch/settle_cookie.h"

#include "common/cookie.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/secret.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int launch_settle_cookie(const struct config *cfg, const char *home, char **cookie, char *err,
                         size_t errlen)
{
    *cookie = NULL;
    char path[PATH_MAX];
    if (home == NULL || *home == '\0')
        return set_error(err, errlen,
                         "HOME is not set; the cookie file lives in $HOME/.erlang.cookie");
    int n = snprintf(path, sizeof path, "%s/.erlang.cookie", home);
    if (n < 0 || (size_t)n >= sizeof path)
        return set_error(err, errlen, "HOME is too long: %s", home);
    char *staged = NULL, ignored[256];
    (void)cookie_read_file(path, &staged, ignored, sizeof ignored);

    if (cfg->cookie == NULL) {
        if (staged == NULL)
            return set_error(err, errlen,
                             "%s is missing or not 1..255 printable characters without blanks; "
                             "restage, or set ERLANG_CLUSTER_COOKIE",
                             path);
        *cookie = staged;
        return 0;
    }
    if (!cookie_text_valid(cfg->cookie)) {
        secret_free(staged);
        return set_error(err, errlen,
                         "the cookie from %s is not 1..255 printable characters without blanks",
                         config_source_name(cfg->source[FIELD_COOKIE]));
    }
    bool same = staged != NULL && strcmp(staged, cfg->cookie) == 0;
    secret_free(staged);
    if (!same &&
        fs_write_atomic(path, cfg->cookie, strlen(cfg->cookie), 0400, err, errlen) != 0)
        return -1;
    *cookie = strdup(cfg->cookie);
    if (*cookie == NULL)
        return set_error(err, errlen, "out of memory");
    return 0;
}
