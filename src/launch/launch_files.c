#include "launch/launch_files.h"

#include "common/error.h"
#include "common/strbuf.h"
#include "common/vm_args.h"
#include "launch/boot_eval.h"
#include "launch/claim.h"
#include "launch/env_file.h"
#include "launch/mix_release.h"
#include "launch/relx_vm_args.h"
#include "launch/run_dir.h"
#include "launch/tls_identity.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

static bool tls_on(const struct launch_plan *plan)
{
    return plan->tls != NULL && plan->tls->outcome == TLS_OUTCOME_ON;
}

/* Appends the distribution flags (common/vm_args.h) for the app or for guests. */
static int append_dist_flags(const struct launch_plan *plan, enum vm_args_role role,
                             struct strbuf *out)
{
    char *flags = vm_args_render(plan->cfg, role);
    if (flags == NULL)
        return -1;
    int rc = strbuf_append(out, flags);
    free(flags);
    return rc;
}

/* With TLS, the protocol and the role's optfile in the run dir (quoted: erlexec splits args
 * files as it splits ERL_AFLAGS, and the run dir may hold spaces but never a '). For a relx
 * app they go into node.args, not vm.args: relx copies a vm.args `-proto_dist` line into its
 * ping/rpc/eval BEAMs, which already have it from guest.args, and a VM given -proto_dist
 * twice cannot connect. */
static int append_tls_flags(const struct launch_plan *plan, enum vm_args_role role,
                            struct strbuf *out)
{
    if (!tls_on(plan))
        return 0;
    return strbuf_appendf(out, "-proto_dist inet_tls\n-ssl_dist_optfile '%s/%s'\n",
                          plan->run_dir,
                          role == VM_ARGS_APP ? RUN_FILE_TLS_APP_OPTS : RUN_FILE_TLS_GUEST_OPTS);
}

/* With TLS, the optfile for role (the app's only in the launcher); the record the agent
 * reads follows in write_tls_record. */
static int write_tls_optfile(const struct launch_plan *plan, const char *name, char *err,
                             size_t errlen)
{
    char *text = tls_render_optfile(&plan->tls->id, err, errlen);
    if (text == NULL)
        return -1;
    int rc = launch_write_run_file(plan->run_dir, name, text, err, errlen);
    free(text);
    return rc;
}

/* The launcher records the decision for the agent: the identity, or no record at all (a
 * record left by an earlier start must not make the agent dial in TLS a clear-text node). */
static int write_tls_record(const struct launch_plan *plan, char *err, size_t errlen)
{
    if (!tls_on(plan))
        return tls_identity_remove(plan->run_dir, err, errlen);
    if (write_tls_optfile(plan, RUN_FILE_TLS_APP_OPTS, err, errlen) != 0)
        return -1;
    return tls_identity_write(plan->run_dir, &plan->tls->id, err, errlen);
}

static int write_relx_vm_args(const struct launch_plan *plan, char *err, size_t errlen)
{
    char source[PATH_MAX];
    struct strbuf flags = {0}, vm_args = {0};
    int rc = -1;
    if (append_dist_flags(plan, VM_ARGS_APP, &flags) != 0)
        set_error(err, errlen, "out of memory rendering vm.args");
    else if (relx_source_vm_args(plan->release_script, plan->env, source, sizeof source, err,
                                 errlen) == 0 &&
             relx_render_vm_args(source, plan->node_name, strbuf_text(&flags), &vm_args, err,
                                 errlen) == 0)
        rc = launch_write_run_file(plan->run_dir, RUN_FILE_VM_ARGS, strbuf_text(&vm_args),
                                   err, errlen);
    strbuf_release(&flags);
    strbuf_release(&vm_args);
    return rc;
}

/* The launcher's own files: what takes the app's name, and what the agent and later shells
 * read back. */
static int write_claim_files(const struct launch_plan *plan, char *err, size_t errlen)
{
    if (write_tls_record(plan, err, errlen) != 0)
        return -1;
    if (plan->style == START_STYLE_RELX && write_relx_vm_args(plan, err, errlen) != 0)
        return -1;
    if (plan->mix_release != NULL && launch_write_mix_release_files(plan, err, errlen) != 0)
        return -1;
    /* The shell that runs prepare becomes the app by exec: while it lives, so does the
     * claim, and a later --launcher in this container is refused. */
    if (launch_record_claim_owner(plan->run_dir, getppid(), err, errlen) != 0)
        return -1;
    struct strbuf node = {0}, style = {0}, name = {0};
    int rc = -1;
    /* relx: the name and port flags are in vm.args. Else no -name: a Mix release's start
     * passes --name itself, and the boot expression names only the server BEAM, so that
     * pre-steps before it stay unnamed (boot_eval.h). */
    bool named_at_boot = plan->style != START_STYLE_RELX;
    if ((named_at_boot && append_dist_flags(plan, VM_ARGS_APP, &node)) ||
        append_tls_flags(plan, VM_ARGS_APP, &node) != 0 ||
        (named_at_boot && launch_append_boot_eval(plan->cfg, plan->node_name, &node) != 0) ||
        strbuf_appendf(&style, "%s\n", start_style_name(plan->style)) != 0 ||
        strbuf_appendf(&name, "%s\n", plan->node_name) != 0)
        set_error(err, errlen, "out of memory rendering the launch files");
    else if (launch_write_run_file(plan->run_dir, RUN_FILE_NODE_ARGS, strbuf_text(&node), err,
                                   errlen) == 0 &&
             launch_write_run_file(plan->run_dir, RUN_FILE_START_STYLE, strbuf_text(&style), err,
                                   errlen) == 0 &&
             launch_write_run_file(plan->run_dir, RUN_FILE_NODE_NAME, strbuf_text(&name), err,
                                   errlen) == 0)
        rc = 0;
    strbuf_release(&node);
    strbuf_release(&style);
    strbuf_release(&name);
    return rc;
}

int launch_write_files(const struct launch_plan *plan, char *err, size_t errlen)
{
    struct strbuf guest = {0}, envsh = {.secret = true}; /* env.sh may hold the cookie */
    int rc = -1;
    if (tls_on(plan) && write_tls_optfile(plan, RUN_FILE_TLS_GUEST_OPTS, err, errlen) != 0)
        goto out;
    if (append_dist_flags(plan, VM_ARGS_GUEST, &guest) != 0 ||
        append_tls_flags(plan, VM_ARGS_GUEST, &guest) != 0) {
        set_error(err, errlen, "out of memory rendering the launch files");
        goto out;
    }
    if (launch_write_run_file(plan->run_dir, RUN_FILE_GUEST_ARGS, strbuf_text(&guest), err,
                              errlen) != 0)
        goto out;
    if (plan->launcher && write_claim_files(plan, err, errlen) != 0)
        goto out;
    if (launch_render_env_file(plan, &envsh) != 0) {
        set_error(err, errlen, "out of memory rendering the launch files");
        goto out;
    }
    rc = launch_write_run_file(plan->run_dir, plan->launcher ? RUN_FILE_ENV : RUN_FILE_SHELL_ENV,
                               strbuf_text(&envsh), err, errlen);
out:
    strbuf_release(&guest);
    strbuf_release(&envsh);
    return rc;
}
