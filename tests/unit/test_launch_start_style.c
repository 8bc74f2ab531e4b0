/* Launch step: the start style told from start commands and release scripts, and read back
 * from the run dir by later shells. (The files prepare writes are checked end to end in
 * tests/bats/launch.bats, under the local launcher.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "launch/start_style.h"
#include "launch/run_dir.h"
#include "scratch_dir.h"

static const char MIX_RELEASE_SCRIPT[] =
    "#!/bin/sh\nRELEASE_DISTRIBUTION=\"${RELEASE_DISTRIBUTION:-\"sname\"}\"\n";
static const char RELX_SCRIPT[] = "#!/bin/sh\nVMARGS_PATH=$(add_path vm.args \"$VMARGS_PATH\")\n";

static void detect(const char *dir, const char *command, enum start_style want,
                   const char *want_script_rel)
{
    char *script = (char *)"unset";
    enum start_style got = launch_detect_start_style(command, dir, &script);
    assert_int_equal(got, want);
    if (want_script_rel == NULL) {
        assert_null(script);
        return;
    }
    char want_path[512];
    snprintf(want_path, sizeof want_path, "%s/%s", dir, want_script_rel);
    char *resolved = realpath(want_path, NULL);
    assert_non_null(resolved);
    assert_non_null(script);
    assert_string_equal(script, resolved);
    free(resolved);
    free(script);
}

static void mix_and_erl_commands_are_the_erl_style(void **state)
{
    struct fixture *fx = *state;
    detect(fx->dir, "mix run --no-halt", START_STYLE_ERL, NULL);
    detect(fx->dir, "elixir -S mix run --no-halt", START_STYLE_ERL, NULL);
    detect(fx->dir, "erl -noshell -pa ebin -s plain_app", START_STYLE_ERL, NULL);
    detect(fx->dir, "", START_STYLE_ERL, NULL);
    detect(fx->dir, NULL, START_STYLE_ERL, NULL);
}

static void a_mix_release_script_is_recognised_by_its_content(void **state)
{
    struct fixture *fx = *state;
    write_file(fx->dir, "_build/prod/rel/app/bin/app", MIX_RELEASE_SCRIPT);
    detect(fx->dir, "_build/prod/rel/app/bin/app start", START_STYLE_MIX_RELEASE,
           "_build/prod/rel/app/bin/app");
    detect(fx->dir, "cd _build/prod/rel/app && exec bin/app start", START_STYLE_MIX_RELEASE,
           "_build/prod/rel/app/bin/app");
    detect(fx->dir, "'_build/prod/rel/app/bin/app' start_iex", START_STYLE_MIX_RELEASE,
           "_build/prod/rel/app/bin/app");
}

static void a_relx_script_is_recognised_by_its_content(void **state)
{
    struct fixture *fx = *state;
    write_file(fx->dir, "rel/app/bin/app", RELX_SCRIPT);
    detect(fx->dir, "rel/app/bin/app foreground", START_STYLE_RELX, "rel/app/bin/app");
    /* An absolute script path does not depend on the app dir. */
    char command[512], *script = NULL;
    snprintf(command, sizeof command, "%s/rel/app/bin/app foreground", fx->dir);
    assert_int_equal(launch_detect_start_style(command, "/nonexistent", &script),
                     START_STYLE_RELX);
    assert_non_null(script);
    assert_non_null(strstr(script, "/rel/app/bin/app"));
    free(script);
}

static void a_release_command_needs_a_release_script(void **state)
{
    struct fixture *fx = *state;
    /* Missing script, a script of neither kind, or no release subcommand: plain erl. */
    detect(fx->dir, "_build/prod/rel/app/bin/app start", START_STYLE_ERL, NULL);
    write_file(fx->dir, "bin/other", "#!/bin/sh\nexec erl \"$@\"\n");
    detect(fx->dir, "bin/other start", START_STYLE_ERL, NULL);
    write_file(fx->dir, "bin/app", MIX_RELEASE_SCRIPT);
    detect(fx->dir, "bin/app eval 'IO.puts(1)'", START_STYLE_ERL, NULL);
}

static void later_shells_read_the_recorded_style(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(launch_recorded_start_style(fx->dir), START_STYLE_ERL);
    write_file(fx->dir, RUN_FILE_START_STYLE, "relx\n");
    assert_int_equal(launch_recorded_start_style(fx->dir), START_STYLE_RELX);
    write_file(fx->dir, RUN_FILE_START_STYLE, "mix-release\n");
    assert_int_equal(launch_recorded_start_style(fx->dir), START_STYLE_MIX_RELEASE);
    write_file(fx->dir, RUN_FILE_START_STYLE, "something else\n");
    assert_int_equal(launch_recorded_start_style(fx->dir), START_STYLE_ERL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mix_and_erl_commands_are_the_erl_style, setup, teardown),
        cmocka_unit_test_setup_teardown(a_mix_release_script_is_recognised_by_its_content, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_relx_script_is_recognised_by_its_content, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_release_command_needs_a_release_script, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(later_shells_read_the_recorded_style, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
