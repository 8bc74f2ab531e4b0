#include "common/vm_args.h"

#include <stdio.h>
#include <stdlib.h>

char *vm_args_render(const struct config *cfg, enum vm_args_role role)
{
    char *text = NULL;
    int n;
    if (!cfg->epmd)
        n = asprintf(&text,
                     "## Erlang distribution (erlang-cluster-buildpack): epmd-less, port %d\n"
                     "-start_epmd false\n"
                     "-erl_epmd_port %d\n"
                     "%s"
                     "-kernel net_ticktime %d\n",
                     cfg->dist_port, cfg->dist_port,
                     role == VM_ARGS_GUEST ? "-dist_listen false\n" : "", cfg->net_ticktime);
    else if (role == VM_ARGS_APP)
        n = asprintf(&text,
                     "## Erlang distribution (erlang-cluster-buildpack): epmd, port %d\n"
                     "-kernel inet_dist_listen_min %d inet_dist_listen_max %d\n"
                     "-kernel net_ticktime %d\n",
                     cfg->dist_port, cfg->dist_port, cfg->dist_port, cfg->net_ticktime);
    else
        n = asprintf(&text,
                     "## Erlang distribution (erlang-cluster-buildpack): epmd\n"
                     "-kernel net_ticktime %d\n",
                     cfg->net_ticktime);
    return n < 0 ? NULL : text;
}
