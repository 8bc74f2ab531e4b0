/* A relx release's vm.args, rewritten for the cluster: relx refuses to start unless its
 * vm.args has exactly one -name/-sname, and a second -setcookie would make the node ignore
 * both. The launch step writes the rewritten file into the run dir and points VMARGS_PATH
 * at it. */
#ifndef ECB_LAUNCH_RELX_VM_ARGS_H
#define ECB_LAUNCH_RELX_VM_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

/* <root>/releases/<vsn> for the release script <root>/bin/<name> (relx and Mix releases
 * share the layout), with vsn from <root>/releases/start_erl.data. Into buf; returns 0, or
 * -1 with one line in err. */
int release_vsn_dir(const char *script, char *buf, size_t buflen, char *err, size_t errlen);

/* The release's own vm.args: $VMARGS_PATH from env if the user set one, else
 * <release>/releases/<vsn>/vm.args for the release script <release>/bin/<app>, with vsn from
 * releases/start_erl.data. Into buf; returns 0, or -1 with one line in err. */
int relx_source_vm_args(const char *script, char *const *env, char *buf, size_t buflen,
                        char *err, size_t errlen);

/* Appends to out the file at source_path without its -name, -sname and -setcookie lines
 * (and with drop_guarded, under TLS, without the flags launch/flag_guard.h guards), then
 * `-name node_name` (unless NULL) and dist_flags (the app's distribution flags,
 * common/vm_args.h).
 * Returns 0, or -1 with one line in err. */
int relx_render_vm_args(const char *source_path, const char *node_name,
                        const char *dist_flags, bool drop_guarded, struct strbuf *out,
                        char *err, size_t errlen);

#endif
