/* Which cookie the app's BEAM uses at run time, settled before it starts. */
#ifndef ECB_LAUNCH_SETTLE_COOKIE_H
#define ECB_LAUNCH_SETTLE_COOKIE_H

#include <stddef.h>

#include "common/config.h"

/* A run-time cookie (cfg->cookie, from the environment or a service) replaces the staged
 * $home/.erlang.cookie when it differs; otherwise the staged file (read by the rules of
 * common/cookie.h) is the cookie. *cookie is the value, needed for Mix releases, which take
 * it on argv: release it with secret_free. Returns 0, or -1 with one line in err that never
 * shows a cookie. */
int launch_settle_cookie(const struct config *cfg, const char *home, char **cookie, char *err,
                         size_t errlen);

#endif
