/* Reading an environment passed as a NAME=VALUE array (environ, or a test's own), so that
 * every reader can be given the environment it should see. */
#ifndef ECB_ENV_H
#define ECB_ENV_H

/* The value of name in env, or NULL when it is not set (or env is NULL). */
const char *env_lookup(char *const *env, const char *name);

#endif
