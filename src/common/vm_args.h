/* The distribution flags every BEAM of the app gets, as vm.args text (one flag group per
 * line, no variables: `-args_file` expands none). No name and no cookie: the launch step adds
 * the name, and the cookie stays in ~/.erlang.cookie to keep it off argv. */
#ifndef ECB_VM_ARGS_H
#define ECB_VM_ARGS_H

#include "common/config.h"

enum vm_args_role {
    VM_ARGS_APP,   /* the app's node: listens on the distribution port */
    VM_ARGS_GUEST, /* any later BEAM in the container (remote shell, mix task): reaches the
                      cluster with the same port mode but never takes the app's port */
};

/* Epmd-less (default): `-start_epmd false -erl_epmd_port P`, plus `-dist_listen false` for a
 * guest. With epmd: `-kernel inet_dist_listen_min P inet_dist_listen_max P` for the app (a
 * guest listens wherever epmd tells). Both: `-kernel net_ticktime N`.
 * Returns malloc'd text ending in a newline, or NULL when out of memory. */
char *vm_args_render(const struct config *cfg, enum vm_args_role role);

#endif
