/* The flag guard (launch/flag_guard.h): with TLS on, a second -proto_dist, -ssl_dist_optfile,
 * -epmd_module or -erl_epmd_port from any source the app's BEAM reads is taken out where we
 * re-export or copy it, and leaves the app unclustered where we only read it; one line names
 * the source and the flag. (End to end: tests/bats/launch_tls.bats and
 * tests/e2e/tls-flag-guard.bats.) */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/env.h"
#include "launch/env_file.h"
#include "launch/flag_guard.h"
#include "launch/relx_vm_args.h"
#include "scratch_dir.h"

static char *stripped(const char *text, bool in_file, int want_removed)
{
    struct strbuf out = {0};
    assert_int_equal(flag_guard_strip(text, in_file, &out), want_removed);
    return strbuf_detach(&out, NULL);
}

static void strip_takes_out_each_guarded_flag_with_its_values_and_keeps_the_rest(void **state)
{
    (void)state;
    char *text = stripped("-args_file '/run dir/node.args' -proto_dist inet_tcp +K true "
                          "-ssl_dist_optfile \"/a b/opts\" -epmd_module my_epmd "
                          "-erl_epmd_port 4370 -kernel a b -proto_distx keep",
                          false, 4);
    assert_null(strstr(text, "inet_tcp"));
    assert_null(strstr(text, "/a b/opts"));
    assert_null(strstr(text, "my_epmd"));
    assert_null(strstr(text, "4370"));
    assert_non_null(strstr(text, "-args_file '/run dir/node.args' "));
    assert_non_null(strstr(text, "+K true"));
    assert_non_null(strstr(text, "-kernel a b"));
    assert_non_null(strstr(text, "-proto_distx keep"));
    free(text);

    /* In an args file a comment is not a flag, and stays as it was. */
    text = stripped("# -proto_dist inet6_tcp was here\n-proto_dist inet6_tcp\n+A30\n", true, 1);
    assert_string_equal(text, "# -proto_dist inet6_tcp was here\n\n+A30\n");
    free(text);
    text = stripped("+A30 -sname app\n", true, 0);
    assert_string_equal(text, "+A30 -sname app\n");
    free(text);
}

struct guarded {
    struct flag_guard g;
    char err[512];
};

static void check(struct guarded *out, char *const *env, const char *run_dir,
                  enum start_style style, const char *script, const char *command)
{
    struct flag_guard_input in = {.env = env, .run_dir = run_dir, .style = style,
                                  .release_script = script, .start_command = command};
    memset(out, 0, sizeof *out);
    assert_int_equal(flag_guard_check(&in, &out->g, out->err, sizeof out->err), 0);
}

/* Every flag variable a BEAM reads is re-exported by the env file: the flag is taken out there,
 * the line names the variable and the flag, and the rest of the environment is untouched. */
static void each_flag_variable_loses_the_flag_and_the_line_names_it(void **state)
{
    (void)state;
    static const char *const names[] = {"ERL_AFLAGS", "ERL_FLAGS", "ERL_ZFLAGS",
                                        "ELIXIR_ERL_OPTIONS"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char var[128];
        snprintf(var, sizeof var, "%s=+K true -proto_dist inet6_tcp -kernel x y", names[i]);
        char *env[] = {"HOME=/home/vcap/app", var, "ERL_LIBS=/x", NULL};
        struct guarded r;
        check(&r, env, "/tmp/erlang-cluster", START_STYLE_ERL, NULL, "mix run --no-halt");
        assert_int_equal(r.g.verdict, FLAG_GUARD_REMOVED);
        char want[128];
        snprintf(want, sizeof want, "%s has -proto_dist inet6_tcp: taken out", names[i]);
        assert_non_null(strstr(r.g.line, want));
        assert_non_null(strstr(r.g.line, "Take it out of"));
        assert_non_null(r.g.env);
        assert_string_equal(env_lookup(r.g.env, names[i]), "+K true  -kernel x y");
        assert_string_equal(env_lookup(r.g.env, "HOME"), "/home/vcap/app");
        assert_string_equal(env_lookup(r.g.env, "ERL_LIBS"), "/x");
        flag_guard_free(&r.g);
    }

    char *clean[] = {"ERL_AFLAGS=-args_file '/tmp/erlang-cluster/node.args' +K true", NULL};
    struct guarded r;
    check(&r, clean, "/tmp/erlang-cluster", START_STYLE_ERL, NULL, NULL);
    assert_int_equal(r.g.verdict, FLAG_GUARD_CLEAN);
    assert_string_equal(r.g.line, "");
    assert_null(r.g.env);
}

/* The env file exports the guard's values, so they replace the user's in the BEAM's shell. */
static void the_env_file_re_exports_the_cleaned_variables_with_tls(void **state)
{
    (void)state;
    char *env[] = {"ERL_FLAGS=-proto_dist inet_tcp +A 4", NULL};
    struct guarded r;
    check(&r, env, "/run", START_STYLE_ERL, NULL, NULL);
    struct config cfg = {.epmd = false, .dist_port = 9001};
    struct tls_decision tls = {.outcome = TLS_OUTCOME_ON};
    struct launch_plan plan = {.run_dir = "/run", .launcher = true, .env = r.g.env,
                               .cfg = &cfg, .node_name = "app@10.0.0.1",
                               .style = START_STYLE_ERL, .tls = &tls};
    struct strbuf out = {0};
    assert_int_equal(launch_render_env_file(&plan, &out), 0);
    assert_non_null(strstr(strbuf_text(&out), "export ERL_FLAGS=' +A 4'\n"));
    assert_null(strstr(strbuf_text(&out), "inet_tcp"));
    strbuf_release(&out);
    flag_guard_free(&r.g);
}

/* A file named by -args_file cannot be rewritten: the app starts unclustered, and the line
 * names that file. Our own run-dir files are not the app's. Nesting is followed, boundedly. */
static void an_args_file_with_the_flag_leaves_the_app_unclustered(void **state)
{
    struct fixture *fx = *state;
    char run_dir[256], var[512];
    snprintf(run_dir, sizeof run_dir, "%s/run", fx->dir);
    write_file(fx->dir, "run/node.args", "-proto_dist inet_tls\n");
    write_file(fx->dir, "app/outer.args", "+K true\n");
    write_file(fx->dir, "app/inner.args", "-epmd_module my_epmd\n");
    write_file(fx->dir, "app/loop.args", "");
    char outer[300], loop[300];
    snprintf(outer, sizeof outer, "+K true\n-args_file %s/app/inner.args\n", fx->dir);
    write_file(fx->dir, "app/outer.args", outer);
    snprintf(loop, sizeof loop, "-args_file %s/app/loop.args\n", fx->dir);
    write_file(fx->dir, "app/loop.args", loop);

    snprintf(var, sizeof var, "ERL_AFLAGS=-args_file '%s/node.args' +K true", run_dir);
    char *ours[] = {var, NULL};
    struct guarded r;
    check(&r, ours, run_dir, START_STYLE_ERL, NULL, NULL);
    assert_int_equal(r.g.verdict, FLAG_GUARD_CLEAN);

    /* A file that names itself is never read to the end (erlexec loops on it for ever). */
    snprintf(var, sizeof var, "ERL_AFLAGS=-args_file %s/app/loop.args", fx->dir);
    check(&r, ours, run_dir, START_STYLE_ERL, NULL, NULL);
    assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
    assert_non_null(strstr(r.g.line, "loop.args, which the cluster cannot read to the end "
                                     "(nested deeper than the limit)"));

    snprintf(var, sizeof var, "ERL_ZFLAGS=-args_file %s/app/outer.args", fx->dir);
    char *env[] = {var, NULL};
    check(&r, env, run_dir, START_STYLE_ERL, NULL, NULL);
    assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
    char want[512];
    snprintf(want, sizeof want, "%s/app/inner.args has -epmd_module my_epmd", fx->dir);
    assert_non_null(strstr(r.g.line, want));
    assert_non_null(strstr(r.g.line, "the app starts unclustered"));
    assert_null(r.g.env);
}

/* A relx release's vm.args is copied by us: the flag is taken out of the copy. */
static void a_relx_vm_args_flag_is_taken_out_of_our_copy(void **state)
{
    struct fixture *fx = *state;
    char script[256], source[256];
    write_file(fx->dir, "rel/app/releases/start_erl.data", "13.1.5 0.1.0\n");
    write_file(fx->dir, "rel/app/releases/0.1.0/vm.args",
               "-sname app\n-setcookie c\n-proto_dist inet_tcp\n+K true\n");
    snprintf(script, sizeof script, "%s/rel/app/bin/app", fx->dir);
    snprintf(source, sizeof source, "%s/rel/app/releases/0.1.0/vm.args", fx->dir);
    char *env[] = {NULL};
    struct guarded r;
    check(&r, env, "/run", START_STYLE_RELX, script, "rel/app/bin/app foreground");
    assert_int_equal(r.g.verdict, FLAG_GUARD_REMOVED);
    char want[512];
    snprintf(want, sizeof want, "%s has -proto_dist inet_tcp: taken out", source);
    assert_non_null(strstr(r.g.line, want));
    flag_guard_free(&r.g);

    struct strbuf out = {0};
    assert_int_equal(relx_render_vm_args(source, "app@10.0.0.1", "-start_epmd false\n", true,
                                         &out, fx->err, sizeof fx->err), 0);
    assert_null(strstr(strbuf_text(&out), "proto_dist"));
    assert_non_null(strstr(strbuf_text(&out), "\n+K true\n"));
    strbuf_release(&out);

    /* ... but a file its -args_file names is not ours to rewrite. */
    char nested[300];
    snprintf(nested, sizeof nested, "-sname app\n-args_file %s/extra.args\n", fx->dir);
    write_file(fx->dir, "rel/app/releases/0.1.0/vm.args", nested);
    write_file(fx->dir, "extra.args", "-ssl_dist_optfile /x\n");
    check(&r, env, "/run", START_STYLE_RELX, script, "rel/app/bin/app foreground");
    assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
    assert_non_null(strstr(r.g.line, "extra.args has -ssl_dist_optfile /x"));
}

/* A Mix release's files are the app's (vm.args from rel/vm.args.eex, remote.vm.args,
 * env.sh): a flag there leaves the app unclustered, and the line says which .eex to fix. */
static void a_mix_release_file_with_the_flag_leaves_the_app_unclustered(void **state)
{
    struct fixture *fx = *state;
    char script[256];
    snprintf(script, sizeof script, "%s/rel/app/bin/app", fx->dir);
    write_file(fx->dir, "rel/app/releases/start_erl.data", "13.1.5 0.2.0\n");
    write_file(fx->dir, "rel/app/releases/0.2.0/vm.args", "+K true\n");
    write_file(fx->dir, "rel/app/releases/0.2.0/env.sh",
               "#!/bin/sh\n# export ELIXIR_ERL_OPTIONS=\"-proto_dist inet6_tcp\"\n"
               "export RELEASE_DISTRIBUTION=name\n"
               "export ERL_AFLAGS=\"$ERL_AFLAGS -kernel shell_history enabled\"\n");
    char *env[] = {NULL};
    struct guarded r;
    check(&r, env, "/run", START_STYLE_MIX_RELEASE, script, "rel/app/bin/app start");
    assert_int_equal(r.g.verdict, FLAG_GUARD_CLEAN);

    static const struct {
        const char *file, *content, *said, *fix;
    } cases[] = {
        {"vm.args", "+K true\n-proto_dist inet_tcp\n", "vm.args has -proto_dist inet_tcp",
         "rel/vm.args.eex"},
        {"remote.vm.args", "-erl_epmd_port 4370\n", "remote.vm.args has -erl_epmd_port 4370",
         "rel/remote.vm.args.eex"},
        {"env.sh", "export ELIXIR_ERL_OPTIONS=\"-proto_dist inet6_tcp\"\n",
         "env.sh has -proto_dist", "rel/env.sh.eex"},
        {"env.sh", "export ERL_AFLAGS=\"-kernel shell_history enabled\"\n",
         "env.sh line 1 sets, exports or unsets ERL_AFLAGS", "rel/env.sh.eex"},
        {"env.sh", "  unset ERL_AFLAGS\n", "env.sh line 1 sets, exports or unsets ERL_AFLAGS",
         "rel/env.sh.eex"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "rel/app/releases/0.2.0/%s", cases[i].file);
        write_file(fx->dir, rel, cases[i].content);
        check(&r, env, "/run", START_STYLE_MIX_RELEASE, script, "rel/app/bin/app start");
        assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
        assert_non_null(strstr(r.g.line, cases[i].said));
        assert_non_null(strstr(r.g.line, cases[i].fix));
        write_file(fx->dir, rel, "");
    }

    /* $RELEASE_VM_ARGS replaces the release's own vm.args, as in its script. */
    write_file(fx->dir, "mine.args", "-proto_dist inet_tcp\n");
    char var[300];
    snprintf(var, sizeof var, "RELEASE_VM_ARGS=%s/mine.args", fx->dir);
    char *user[] = {var, NULL};
    check(&r, user, "/run", START_STYLE_MIX_RELEASE, script, "rel/app/bin/app start");
    assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
    assert_non_null(strstr(r.g.line, "mine.args has -proto_dist inet_tcp"));
}

/* A flag in the start command cannot be taken out; one in a variable is still counted. */
static void a_flag_in_the_start_command_leaves_the_app_unclustered(void **state)
{
    (void)state;
    char *env[] = {"ERL_FLAGS=-erl_epmd_port 5000", NULL};
    struct guarded r;
    check(&r, env, "/run", START_STYLE_ERL, NULL,
          "elixir --erl \"-proto_dist inet_tcp\" -S mix run --no-halt");
    assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
    assert_non_null(strstr(r.g.line, "the start command has -proto_dist"));
    assert_non_null(strstr(r.g.line, "(1 more such flags found.)"));
    assert_null(r.g.env);
}

/* The reviewer's cases: a flag in an -args_file the guard does not read to the end got through
 * silently. Now any such file leaves the app unclustered, and the line names it and says why
 * and what to do. FLAG_GUARD_ARGS_FILE_DEPTH files deep is still read. */
static void an_args_file_not_read_to_the_end_leaves_the_app_unclustered(void **state)
{
    struct fixture *fx = *state;
    char rel[32], text[300], var[512];
    for (int i = 1; i <= 6; i++) { /* a1 -> a2 -> ... -> a6, which has the flag */
        snprintf(rel, sizeof rel, "a%d", i);
        if (i < 6)
            snprintf(text, sizeof text, "+K true\n-args_file %s/a%d\n", fx->dir, i + 1);
        else
            snprintf(text, sizeof text, "-proto_dist inet_tcp\n");
        write_file(fx->dir, rel, text);
    }
    char *env[] = {var, NULL};
    struct guarded r;
    snprintf(var, sizeof var, "ERL_FLAGS=-args_file %s/a3", fx->dir); /* 4 files deep */
    check(&r, env, "/run", START_STYLE_ERL, NULL, NULL);
    assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
    assert_non_null(strstr(r.g.line, "a6 has -proto_dist inet_tcp"));

    snprintf(var, sizeof var, "ERL_FLAGS=-args_file %s/a1", fx->dir); /* 6 deep */
    check(&r, env, "/run", START_STYLE_ERL, NULL, NULL);
    assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
    char want[512];
    snprintf(want, sizeof want, "%s/a4 names -args_file %s/a5, which the cluster cannot read "
             "to the end (nested deeper than the limit)", fx->dir, fx->dir);
    assert_non_null(strstr(r.g.line, want));
    assert_non_null(strstr(r.g.line, "the app starts unclustered"));
    assert_non_null(strstr(r.g.line, "at most 4 -args_file deep, or remove that -args_file"));

    size_t big_len = 300 * 1024;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    memset(big, ' ', big_len);
    memcpy(big + big_len - 21, "-proto_dist inet_tcp\n", 21);
    big[big_len] = '\0';
    write_file(fx->dir, "big.args", big);
    free(big);
    assert_int_equal(mkfifo(strcat(strcpy(text, fx->dir), "/fifo.args"), 0600), 0);
    write_file(fx->dir, "dir.args/x", "");
    static const struct {
        const char *name, *why;
    } unread[] = {{"big.args", "(larger than the limit)"},
                  {"fifo.args", "(not a regular file)"},
                  {"dir.args", "(not a regular file)"},
                  {"missing.args", "(no such file)"}};
    for (size_t i = 0; i < sizeof unread / sizeof *unread; i++) {
        snprintf(var, sizeof var, "ERL_ZFLAGS=+K true -args_file %s/%s", fx->dir,
                 unread[i].name);
        alarm(10); /* a FIFO opened for reading without O_NONBLOCK would wait here */
        check(&r, env, "/run", START_STYLE_ERL, NULL, NULL);
        alarm(0);
        assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
        snprintf(want, sizeof want, "ERL_ZFLAGS names -args_file %s/%s, which the cluster "
                 "cannot read to the end %s", fx->dir, unread[i].name, unread[i].why);
        assert_non_null(strstr(r.g.line, want));
    }
}

/* A relative -args_file is opened by erlexec from the directory the BEAM starts in: a relx
 * script cds to the release root first; erl and a Mix release's script stay where they were
 * started (prepare's directory). The guard reads the same file. */
static void a_relative_args_file_is_read_from_where_the_beam_starts(void **state)
{
    struct fixture *fx = *state;
    char script[256], here[PATH_MAX];
    assert_non_null(getcwd(here, sizeof here));
    write_file(fx->dir, "rel/app/bin/app", "#!/bin/sh\n");
    write_file(fx->dir, "rel/app/releases/start_erl.data", "13.1.5 0.1.0\n");
    write_file(fx->dir, "rel/app/releases/0.1.0/vm.args",
               "-sname app\n-args_file config/extra.args\n");
    write_file(fx->dir, "rel/app/config/extra.args", "-proto_dist inet_tcp\n");
    write_file(fx->dir, "work/config/extra.args", "+K true\n");
    snprintf(script, sizeof script, "%s/rel/app/bin/app", fx->dir);
    char work[300];
    snprintf(work, sizeof work, "%s/work", fx->dir);
    assert_int_equal(chdir(work), 0); /* prepare's cwd, where an innocent file has the name */
    char *env[] = {NULL};
    struct guarded r;
    check(&r, env, "/run", START_STYLE_RELX, script, "rel/app/bin/app foreground");
    assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
    char want[512];
    snprintf(want, sizeof want, "%s/rel/app/config/extra.args has -proto_dist inet_tcp",
             fx->dir);
    assert_non_null(strstr(r.g.line, want));

    char *erl_env[] = {"ERL_AFLAGS=-args_file config/extra.args", NULL};
    write_file(fx->dir, "work/config/extra.args", "-epmd_module my_epmd\n");
    check(&r, erl_env, "/run", START_STYLE_ERL, NULL, "erl -noshell");
    assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
    snprintf(want, sizeof want, "%s/config/extra.args has -epmd_module my_epmd", work);
    assert_non_null(strstr(r.g.line, want));
    assert_int_equal(chdir(here), 0);
}

/* A Mix release's vm.args or remote.vm.args that is there but cannot be read to the end could
 * hold any flag; one that is not there is not read by anyone. */
static void a_mix_release_args_file_that_cannot_be_read_leaves_the_app_unclustered(void **state)
{
    struct fixture *fx = *state;
    char script[256], path[300];
    snprintf(script, sizeof script, "%s/rel/app/bin/app", fx->dir);
    write_file(fx->dir, "rel/app/releases/start_erl.data", "13.1.5 0.2.0\n");
    write_file(fx->dir, "rel/app/releases/0.2.0/vm.args", "+K true\n");
    char *env[] = {NULL};
    struct guarded r;
    check(&r, env, "/run", START_STYLE_MIX_RELEASE, script, "rel/app/bin/app start");
    assert_int_equal(r.g.verdict, FLAG_GUARD_CLEAN); /* no remote.vm.args, no env.sh */

    snprintf(path, sizeof path, "%s/rel/app/releases/0.2.0/remote.vm.args", fx->dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(10);
    check(&r, env, "/run", START_STYLE_MIX_RELEASE, script, "rel/app/bin/app start");
    alarm(0);
    assert_int_equal(r.g.verdict, FLAG_GUARD_UNCLUSTERED);
    char want[512];
    snprintf(want, sizeof want, "%s cannot be read to the end (not a regular file)", path);
    assert_non_null(strstr(r.g.line, want));
    assert_non_null(strstr(r.g.line, "Make it a readable regular file of at most 256 KiB"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strip_takes_out_each_guarded_flag_with_its_values_and_keeps_the_rest),
        cmocka_unit_test(each_flag_variable_loses_the_flag_and_the_line_names_it),
        cmocka_unit_test(the_env_file_re_exports_the_cleaned_variables_with_tls),
        cmocka_unit_test_setup_teardown(an_args_file_with_the_flag_leaves_the_app_unclustered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_relx_vm_args_flag_is_taken_out_of_our_copy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_mix_release_file_with_the_flag_leaves_the_app_unclustered, setup, teardown),
        cmocka_unit_test(a_flag_in_the_start_command_leaves_the_app_unclustered),
        cmocka_unit_test_setup_teardown(
            an_args_file_not_read_to_the_end_leaves_the_app_unclustered, setup, teardown),
        cmocka_unit_test_setup_teardown(a_relative_args_file_is_read_from_where_the_beam_starts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_mix_release_args_file_that_cannot_be_read_leaves_the_app_unclustered, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
