/* The env file the launch wrapper sources (env.sh in the launcher, shell-env.sh in other
 * shells): POSIX `export NAME='value'` lines, every value one single-quoted word so nothing
 * in it is ever expanded or run. */
#ifndef ECB_LAUNCH_ENV_FILE_H
#define ECB_LAUNCH_ENV_FILE_H

#include "common/strbuf.h"
#include "launch/plan.h"

/* Appends the env file for plan to out: ERL_AFLAGS with the claim or guest args file first
 * (keeping what the user set), and the start style's own variables. Returns 0, or -1 when
 * out of memory. */
int launch_render_env_file(const struct launch_plan *plan, struct strbuf *out);

#endif
