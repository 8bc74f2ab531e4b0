/* A Mix release in the droplet, recognised from its layout rather than from the start
 * command (`bin/server`, `bin/migrate && bin/server`, a script or a Procfile line that runs
 * it), and made to run under the cluster's name, cookie and vm.args even when the app's own
 * releases/VSN/env.sh, vm.args or remote.vm.args set others. See docs/internals.md, "Mix
 * releases in the droplet". */
#ifndef ECB_LAUNCH_MIX_RELEASE_H
#define ECB_LAUNCH_MIX_RELEASE_H

#include <stddef.h>

#include "launch/plan.h"

/* The release script of the Mix release in app_dir: app_dir itself (a release pushed as the
 * app) or app_dir/_build/ENV/rel/NAME (prod first), each with releases/start_erl.data,
 * releases/COOKIE and a bin/ script that is Elixir's release script. The realpath, malloc'd;
 * NULL when there is none. */
char *launch_find_mix_release(const char *app_dir);

/* In the launcher, for plan->mix_release: the release's vm.args and remote.vm.args without
 * their -name/-sname/-setcookie lines (release-vm.args, release-remote-vm.args), the
 * release's exports (release.env) in the run dir, and a line at the end of the release's
 * releases/VSN/env.sh that sources release.env, so ours win over what the app's env.sh set.
 * A release env.sh that cannot be changed gets one line on stderr, not an error. Returns 0,
 * or -1 with one line in err. */
int launch_write_mix_release_files(const struct launch_plan *plan, char *err, size_t errlen);

#endif
