/* Launch step: a Mix release recognised from the droplet's layout (not from the start
 * command), the commands that stay the erl style, and the boot expression that names only
 * the server BEAM. (Its behaviour in real BEAMs is checked in tests/bats/launch.bats and
 * tests/e2e/pre-steps.bats.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "launch/boot_eval.h"
#include "launch/mix_release.h"
#include "launch/start_style.h"
#include "scratch_dir.h"

static const char MIX_RELEASE_SCRIPT[] =
    "#!/bin/sh\nRELEASE_DISTRIBUTION=\"${RELEASE_DISTRIBUTION:-\"sname\"}\"\n";
static const char PHX_SERVER_OVERLAY[] =
    "#!/bin/sh\nset -eu\n\ncd -P -- \"$(dirname -- \"$0\")\"\nPHX_SERVER=true exec ./app start\n";

static void write_release(const char *dir, const char *root)
{
    char rel[512];
    snprintf(rel, sizeof rel, "%s/releases/start_erl.data", root);
    write_file(dir, rel, "13.1.5 0.1.0\n");
    snprintf(rel, sizeof rel, "%s/releases/COOKIE", root);
    write_file(dir, rel, "COOKIE\n");
    snprintf(rel, sizeof rel, "%s/bin/server", root); /* sorts after app, before it here */
    write_file(dir, rel, PHX_SERVER_OVERLAY);
    snprintf(rel, sizeof rel, "%s/bin/app", root);
    write_file(dir, rel, MIX_RELEASE_SCRIPT);
}

static void assert_found(const char *dir, const char *want_rel)
{
    char want[512];
    snprintf(want, sizeof want, "%s/%s", dir, want_rel);
    char *want_real = realpath(want, NULL), *found = launch_find_mix_release(dir);
    assert_non_null(want_real);
    assert_non_null(found);
    assert_string_equal(found, want_real);
    free(want_real);
    free(found);
}

static void a_release_under_build_is_found_whatever_the_command(void **state)
{
    struct fixture *fx = *state;
    assert_null(launch_find_mix_release(fx->dir));
    write_release(fx->dir, "_build/dev/rel/app");
    assert_found(fx->dir, "_build/dev/rel/app/bin/app");
    write_release(fx->dir, "_build/prod/rel/app"); /* prod first */
    assert_found(fx->dir, "_build/prod/rel/app/bin/app");
}

static void a_release_pushed_as_the_app_is_found(void **state)
{
    struct fixture *fx = *state;
    write_release(fx->dir, ".");
    assert_found(fx->dir, "bin/app");
}

static void a_layout_without_the_release_files_or_script_is_not_a_release(void **state)
{
    struct fixture *fx = *state;
    write_file(fx->dir, "_build/prod/rel/app/bin/app", MIX_RELEASE_SCRIPT);
    write_file(fx->dir, "_build/prod/rel/app/releases/start_erl.data", "13.1.5 0.1.0\n");
    assert_null(launch_find_mix_release(fx->dir)); /* no releases/COOKIE */
    write_file(fx->dir, "_build/prod/rel/other/releases/start_erl.data", "13.1.5 0.1.0\n");
    write_file(fx->dir, "_build/prod/rel/other/releases/COOKIE", "C\n");
    write_file(fx->dir, "_build/prod/rel/other/bin/server", PHX_SERVER_OVERLAY);
    assert_null(launch_find_mix_release(fx->dir)); /* only an overlay script */
}

static void commands_that_run_a_beam_cli_are_told_apart(void **state)
{
    (void)state;
    assert_true(launch_command_runs_beam_cli("mix ecto.migrate && mix phx.server"));
    assert_true(launch_command_runs_beam_cli("cd x && /usr/bin/elixir -S mix run --no-halt"));
    assert_true(launch_command_runs_beam_cli("iex -S mix"));
    assert_true(launch_command_runs_beam_cli("erl -noshell -s app"));
    assert_false(launch_command_runs_beam_cli("bin/migrate && bin/server"));
    assert_false(launch_command_runs_beam_cli("./start.sh"));
    assert_false(launch_command_runs_beam_cli("_build/prod/rel/mixer/bin/mixer start"));
    assert_false(launch_command_runs_beam_cli(NULL));
}

/* The expression sits inside single quotes in an args file: it must hold none. */
static void the_boot_expression_names_the_server_only_and_starts_epmd_only_with_epmd(void **state)
{
    (void)state;
    struct config cfg = {.epmd = false};
    struct strbuf out = {0};
    assert_int_equal(launch_append_boot_eval(&cfg, "app@10.0.0.1", &out), 0);
    const char *text = strbuf_text(&out);
    assert_int_equal(strncmp(text, "-eval '", 7), 0);
    assert_non_null(strstr(text, "net_kernel:start([list_to_atom(\"app@10.0.0.1\"), longnames, 250 * case application:get_env(kernel, net_ticktime) of"));
    assert_non_null(strstr(text, "\"--no-halt\""));
    assert_non_null(strstr(text, "\"phx.server\""));
    assert_non_null(strstr(text, "\"no_dot_erlang\""));
    assert_null(strstr(text, "epmd\""));
    assert_ptr_equal(strchr(text + 7, '\''), text + strlen(text) - 2); /* only the closing one */
    assert_null(strchr(text, '\\'));
    assert_string_equal(text + strlen(text) - 3, ".'\n");
    strbuf_release(&out);
    cfg.epmd = true;
    assert_int_equal(launch_append_boot_eval(&cfg, "app@10.0.0.1", &out), 0);
    assert_non_null(strstr(strbuf_text(&out), "\"epmd\""));
    strbuf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_release_under_build_is_found_whatever_the_command,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_release_pushed_as_the_app_is_found, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_layout_without_the_release_files_or_script_is_not_a_release, setup, teardown),
        cmocka_unit_test(commands_that_run_a_beam_cli_are_told_apart),
        cmocka_unit_test(the_boot_expression_names_the_server_only_and_starts_epmd_only_with_epmd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
