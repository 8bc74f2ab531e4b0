#include "launch/env_file.h"

#include "common/env.h"
#include "common/text.h"
#include "launch/run_dir.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int append_export(struct strbuf *sb, const char *name, const char *value)
{
    if (strbuf_appendf(sb, "export %s=", name) != 0 || shell_quote_append(sb, value) != 0)
        return -1;
    return strbuf_append(sb, "\n");
}

/* ERL_AFLAGS with our -args_file first, keeping whatever the user set, without stacking our
 * own entry twice when the environment already carries one. */
static int build_erl_aflags(const char *run_dir, const char *args_file, const char *previous,
                            struct strbuf *out)
{
    int rc = strbuf_appendf(out, "-args_file '%s/%s'", run_dir, args_file);
    if (rc != 0 || previous == NULL || *previous == '\0')
        return rc;
    const char *rest = previous;
    static const char *const ours[] = {RUN_FILE_NODE_ARGS, RUN_FILE_GUEST_ARGS};
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++) {
        struct strbuf mine = {0};
        rc |= strbuf_appendf(&mine, "-args_file '%s/%s'", run_dir, ours[i]);
        if (rc == 0 && strncmp(rest, mine.data, mine.len) == 0)
            rest += mine.len;
        strbuf_release(&mine);
    }
    while (*rest == ' ')
        rest++;
    if (*rest)
        rc |= strbuf_appendf(out, " %s", rest);
    return rc ? -1 : 0;
}

int launch_render_env_file(const struct launch_plan *plan, struct strbuf *out)
{
    struct strbuf aflags = {0};
    const char *args_file = plan->launcher ? RUN_FILE_NODE_ARGS : RUN_FILE_GUEST_ARGS;
    int rc = build_erl_aflags(plan->run_dir, args_file, env_lookup(plan->env, "ERL_AFLAGS"),
                              &aflags);
    rc |= strbuf_append(out, "# Written by erlang-cluster-agent prepare; sourced by the "
                             "launch wrapper.\n");
    rc |= append_export(out, "ERL_AFLAGS", strbuf_text(&aflags));
    strbuf_release(&aflags);
    /* A Mix release found in the droplet gets ours whatever the style (a `mix ecto.migrate
     * && bin/server` is erl by its first word); they change nothing but release scripts. */
    if (plan->style == START_STYLE_MIX_RELEASE || plan->mix_release != NULL) {
        rc |= append_export(out, "RELEASE_DISTRIBUTION", "name");
        rc |= append_export(out, "RELEASE_NODE", plan->node_name);
        rc |= append_export(out, "RELEASE_COOKIE", plan->cookie);
    } else if (plan->style == START_STYLE_RELX) {
        char vm_args[PATH_MAX];
        if (launch_run_path(vm_args, sizeof vm_args, plan->run_dir, RUN_FILE_VM_ARGS) != 0)
            return -1;
        rc |= append_export(out, "VMARGS_PATH", vm_args);
        /* Never ERL_DIST_PORT: relx would add its own -erl_epmd_port to the one in node.args
         * or guest.args, and a VM given the flag twice ignores it (the app node then listens
         * on a random port; remote_console finds no node). In other shells (epmd-less or
         * TLS) USE_NODETOOL makes relx's ping/rpc/eval use a BEAM, which reads guest.args,
         * instead of erl_call, which would need ERL_DIST_PORT (and speaks no TLS). */
        bool tls = plan->tls != NULL && plan->tls->outcome == TLS_OUTCOME_ON;
        if (!plan->launcher && (tls || !plan->cfg->epmd))
            rc |= append_export(out, "USE_NODETOOL", "1");
    }
    return rc ? -1 : 0;
}
