/* The flag guard (launch/flag_guard.h) on a Mix release's env.sh, which the release's script
 * sources before it starts the BEAM: with TLS on, a line whose effect on the BEAM's flags the
 * text cannot prove leaves the app unclustered, with one line naming env.sh, the line and
 * what it does. The release's default env.sh and the node name settings the cluster sets
 * again after env.sh (release.env) stay clean. Cases from the security review's PoC. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "launch/flag_guard.h"
#include "scratch_dir.h"

/* What `mix release.init` writes as rel/env.sh.eex (Elixir 1.15), rendered. */
static const char default_env_sh[] =
    "#!/bin/sh\n"
    "\n"
    "# # Sets and enables heart (recommended only in daemon mode)\n"
    "# case $RELEASE_COMMAND in\n"
    "#   daemon*)\n"
    "#     HEART_COMMAND=\"$RELEASE_ROOT/bin/$RELEASE_NAME $RELEASE_COMMAND\"\n"
    "#     export HEART_COMMAND\n"
    "#     export ELIXIR_ERL_OPTIONS=\"-heart\"\n"
    "#     ;;\n"
    "#   *)\n"
    "#     ;;\n"
    "# esac\n"
    "\n"
    "# # Set the release to load code on demand (interactive) instead of preloading "
    "(embedded).\n"
    "# export RELEASE_MODE=interactive\n"
    "\n"
    "# # Set the release to work across nodes.\n"
    "# # RELEASE_DISTRIBUTION must be \"sname\" (local), \"name\" (distributed) or \"none\".\n"
    "# export RELEASE_DISTRIBUTION=name\n"
    "# export RELEASE_NODE=app\n";

static enum flag_guard_verdict guard_env_sh(struct fixture *fx, const char *text, char *line,
                                            size_t linelen)
{
    char script[256];
    snprintf(script, sizeof script, "%s/rel/app/bin/app", fx->dir);
    write_file(fx->dir, "rel/app/releases/start_erl.data", "13.1.5 0.1.0\n");
    write_file(fx->dir, "rel/app/releases/0.1.0/vm.args", "+K true\n");
    write_file(fx->dir, "rel/app/releases/0.1.0/env.sh", text);
    char *env[] = {"PATH=/usr/bin", NULL};
    struct flag_guard_input in = {.env = env, .run_dir = "/tmp/erlang-cluster",
                                  .style = START_STYLE_MIX_RELEASE, .release_script = script,
                                  .start_command = "rel/app/bin/app start"};
    struct flag_guard g;
    char err[512];
    assert_int_equal(flag_guard_check(&in, &g, err, sizeof err), 0);
    snprintf(line, linelen, "%s", g.line);
    flag_guard_free(&g);
    return g.verdict;
}

static void what_the_text_cannot_prove_leaves_the_app_unclustered(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *text, *said;
    } cases[] = {
        /* the review's PoC forms */
        {"export ELIXIR_ERL_OPTIONS=\"-proto_dist inet_tcp\"\n", "env.sh has -proto_dist"},
        {"export RELEASE_VM_ARGS=\"$RELEASE_ROOT/releases/0.1.0/prod.vm.args\"\n",
         "line 1 sets, exports or unsets RELEASE_VM_ARGS"},
        {"export ERL_ZFLAGS=\"-args_file $RELEASE_ROOT/releases/0.1.0/extra.args\"\n",
         "line 1 sets, exports or unsets ERL_ZFLAGS"},
        {"export ERL_AFLAGS=\"${ERL_AFLAGS#*node.args\\'}\"\n",
         "line 1 sets, exports or unsets ERL_AFLAGS"},
        {"D=dist; export ELIXIR_ERL_OPTIONS=\"-proto_$D inet_tcp\"\n",
         "line 1 sets, exports or unsets ELIXIR_ERL_OPTIONS"},
        {"#!/bin/sh\n. \"$RELEASE_ROOT/releases/0.1.0/more.sh\"\n",
         "line 2 sources another file (. \"$RELEASE_ROOT/releases/0.1.0/more.sh\")"},
        /* more of the same */
        {"if [ -f x.sh ]; then source x.sh; fi\n", "line 1 sources another file (source x.sh)"},
        {"export RELEASE_REMOTE_VM_ARGS=/x\n", "sets, exports or unsets RELEASE_REMOTE_VM_ARGS"},
        {"  unset ERL_FLAGS\n", "line 1 sets, exports or unsets ERL_FLAGS"},
        {"REL_VSN_DIR=/elsewhere\n", "sets, exports or unsets REL_VSN_DIR"},
        {": \"${ERL_ZFLAGS:=+K true}\"\n", "sets, exports or unsets ERL_ZFLAGS"},
        {"export ERL_AF\\\nLAGS=x\n", "line 1 sets, exports or unsets ERL_AFLAGS"},
        {"N=ERL_AFLAGS\n", "sets, exports or unsets ERL_AFLAGS"},
        {"P=ERL_; export \"${P}ZFLAGS=-args_file /x\"\n",
         "sets a variable whose name it computes"},
        {"eval \"$SETUP\"\n", "line 1 runs eval"},
        /* the provable append, with a flag or an -args_file in its words */
        {"export ERL_AFLAGS=\"$ERL_AFLAGS -proto_dist inet_tcp\"\n",
         "env.sh has -proto_dist inet_tcp"},
        {"ERL_FLAGS=\"${ERL_FLAGS} -args_file /nonexistent/x.args\"\n",
         "env.sh names -args_file /nonexistent/x.args, which the cluster cannot read"},
        /* Fly.io's Phoenix env.sh: replaces ERL_AFLAGS, so ours would be gone */
        {"export ERL_AFLAGS=\"-proto_dist inet6_tcp\"\nexport ECTO_IPV6=\"true\"\n",
         "env.sh has -proto_dist"},
    };
    char line[FLAG_GUARD_LINE_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        enum flag_guard_verdict v = guard_env_sh(fx, cases[i].text, line, sizeof line);
        if (v != FLAG_GUARD_UNCLUSTERED || strstr(line, cases[i].said) == NULL)
            fail_msg("case %zu (%s): verdict %d, line: %s", i, cases[i].text, v, line);
        assert_non_null(strstr(line, "the app starts unclustered"));
        assert_non_null(strstr(line, "releases/0.1.0/env.sh"));
    }
}

static void the_default_env_sh_and_node_name_settings_stay_clean(void **state)
{
    struct fixture *fx = *state;
    char with_ours[4096];
    /* The line the cluster appends to env.sh (mix_release.c), as a later start finds it. */
    snprintf(with_ours, sizeof with_ours,
             "%s\n# erlang-cluster-buildpack, added at launch: the cluster's node name, cookie "
             "and vm.args win\n# over any set above (README, \"Start styles\").\n"
             "if [ -r '/tmp/erlang-cluster/release.env' ]; then . "
             "'/tmp/erlang-cluster/release.env'; fi\n",
             default_env_sh);
    static const char *const clean[] = {
        /* Phoenix deployment guides: a long name at the instance's address */
        "#!/bin/sh\nexport RELEASE_DISTRIBUTION=name\n"
        "export RELEASE_NODE=app@$(hostname -i)\n",
        "export ECTO_IPV6=\"true\"\nexport DNS_CLUSTER_QUERY=\"${FLY_APP_NAME}.internal\"\n"
        "export RELEASE_DISTRIBUTION=\"name\"\n"
        "export RELEASE_NODE=\"${FLY_APP_NAME}-${FLY_IMAGE_REF##*-}@${FLY_PRIVATE_IP}\"\n"
        "export RELEASE_COOKIE=\"$SECRET\"\n",
        /* the provable append, and reading the variables */
        "export ERL_AFLAGS=\"$ERL_AFLAGS -kernel shell_history enabled\"\n"
        "ELIXIR_ERL_OPTIONS=\"${ELIXIR_ERL_OPTIONS} +sbwt none\"\n"
        "echo \"starting with $ERL_AFLAGS ${ERL_ZFLAGS:-}\" >&2\n",
        "case $RELEASE_COMMAND in\n  start*) export RELEASE_MODE=interactive ;;\nesac\n",
    };
    char line[FLAG_GUARD_LINE_MAX];
    assert_int_equal(guard_env_sh(fx, default_env_sh, line, sizeof line), FLAG_GUARD_CLEAN);
    assert_int_equal(guard_env_sh(fx, with_ours, line, sizeof line), FLAG_GUARD_CLEAN);
    for (size_t i = 0; i < sizeof clean / sizeof *clean; i++)
        if (guard_env_sh(fx, clean[i], line, sizeof line) != FLAG_GUARD_CLEAN)
            fail_msg("case %zu (%s): %s", i, clean[i], line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(what_the_text_cannot_prove_leaves_the_app_unclustered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(the_default_env_sh_and_node_name_settings_stay_clean,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
