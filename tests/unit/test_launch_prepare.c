/* Launch preparation: start-style detection from start commands, the name claim hand-over,
 * which earlier claims a second --launcher must refuse, and the default run dir. (The files prepare writes are checked end to end in
 * tests/bats/launch.bats, under the local launcher.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "launch/prepare.h"
#include "common/fsutil.h"

struct fixture {
    char dir[64];
    char err[512];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    strcpy(fx->dir, "/tmp/test_launch_prepare.XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

static void write_file(const char *dir, const char *rel, const char *content)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    assert_int_equal(fs_mkdir_p(path, 0755, err, sizeof err), 0);
    *slash = '/';
    assert_int_equal(fs_write_atomic(path, content, strlen(content), 0755, err, sizeof err), 0);
}

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

static void releasing_the_claim_puts_the_guest_flags_in_node_args(void **state)
{
    struct fixture *fx = *state;
    write_file(fx->dir, "run/node.args", "-name app@10.0.0.1\n");
    write_file(fx->dir, "run/guest.args", "-dist_listen false\n");
    char run_dir[128];
    snprintf(run_dir, sizeof run_dir, "%s/run", fx->dir);
    assert_int_equal(launch_release_name_claim(run_dir, fx->err, sizeof fx->err), 0);

    char path[256], *text = NULL, err[256];
    snprintf(path, sizeof path, "%s/node.args", run_dir);
    assert_int_equal(fs_read_file(path, 4096, &text, NULL, err, sizeof err), 0);
    assert_string_equal(text, "-dist_listen false\n");
    free(text);
    snprintf(path, sizeof path, "%s/guest.args", run_dir);
    assert_int_equal(fs_read_file(path, 4096, &text, NULL, err, sizeof err), 0);
    assert_string_equal(text, "-dist_listen false\n");
    free(text);
    /* Idempotent: a second hand-over changes nothing and leaves no temp file behind. */
    assert_int_equal(launch_release_name_claim(run_dir, fx->err, sizeof fx->err), 0);
    snprintf(path, sizeof path, "%s/node.args.release", run_dir);
    assert_int_equal(access(path, F_OK), -1);
}

static void releasing_the_claim_without_guest_flags_fails_clearly(void **state)
{
    struct fixture *fx = *state;
    write_file(fx->dir, "run/node.args", "-name app@10.0.0.1\n");
    char run_dir[128];
    snprintf(run_dir, sizeof run_dir, "%s/run", fx->dir);
    assert_int_equal(launch_release_name_claim(run_dir, fx->err, sizeof fx->err), -1);
    assert_non_null(strstr(fx->err, "guest.args"));
}

static void an_empty_run_dir_holds_no_live_claim(void **state)
{
    struct fixture *fx = *state;
    char why[512] = "";
    assert_false(launch_claim_live(fx->dir, why, sizeof why));
    char missing[128];
    snprintf(missing, sizeof missing, "%s/not-created-yet", fx->dir);
    assert_false(launch_claim_live(missing, why, sizeof why));
}

static void a_held_agent_lock_is_a_live_claim_until_released(void **state)
{
    struct fixture *fx = *state;
    char path[128], why[512] = "";
    snprintf(path, sizeof path, "%s/" RUN_FILE_AGENT_LOCK, fx->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    assert_true(launch_claim_live(fx->dir, why, sizeof why));
    assert_non_null(strstr(why, path));
    /* The agent is gone: its lock file alone claims nothing. */
    assert_int_equal(close(fd), 0);
    assert_false(launch_claim_live(fx->dir, why, sizeof why));
}

static void a_running_claimer_is_a_live_claim(void **state)
{
    struct fixture *fx = *state;
    char why[512] = "", pid[32];
    assert_int_equal(launch_record_claim_owner(fx->dir, getpid(), fx->err, sizeof fx->err), 0);
    assert_true(launch_claim_live(fx->dir, why, sizeof why));
    snprintf(pid, sizeof pid, "process %ld,", (long)getpid());
    assert_non_null(strstr(why, pid));
}

static void a_claimer_that_has_exited_holds_no_claim(void **state)
{
    struct fixture *fx = *state;
    char why[512] = "";
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(launch_record_claim_owner(fx->dir, child, fx->err, sizeof fx->err), 0);
    assert_true(launch_claim_live(fx->dir, why, sizeof why));
    assert_int_equal(kill(child, SIGKILL), 0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_false(launch_claim_live(fx->dir, why, sizeof why));
}

/* A PID given to another process later (other start time) or a mangled record is no claim. */
static void a_reused_pid_or_a_mangled_record_holds_no_claim(void **state)
{
    struct fixture *fx = *state;
    char why[512] = "", path[128], *text = NULL, line[64];
    assert_int_equal(launch_record_claim_owner(fx->dir, getpid(), fx->err, sizeof fx->err), 0);
    snprintf(path, sizeof path, "%s/" RUN_FILE_CLAIM_OWNER, fx->dir);
    assert_int_equal(fs_read_file(path, 64, &text, NULL, fx->err, sizeof fx->err), 0);
    long pid;
    unsigned long long start;
    assert_int_equal(sscanf(text, "%ld %llu", &pid, &start), 2);
    free(text);
    assert_int_equal(pid, (long)getpid());
    snprintf(line, sizeof line, "%ld %llu\n", pid, start + 1);
    write_file(fx->dir, RUN_FILE_CLAIM_OWNER, line);
    assert_false(launch_claim_live(fx->dir, why, sizeof why));
    write_file(fx->dir, RUN_FILE_CLAIM_OWNER, "not a pid\n");
    assert_false(launch_claim_live(fx->dir, why, sizeof why));
}

static void recording_a_process_that_does_not_exist_fails_clearly(void **state)
{
    struct fixture *fx = *state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_int_equal(launch_record_claim_owner(fx->dir, child, fx->err, sizeof fx->err), -1);
    assert_non_null(strstr(fx->err, "start time"));
}

static void the_default_run_dir_is_under_tmpdir(void **state)
{
    (void)state;
    char buf[256];
    char *with_tmpdir[] = {"HOME=/home/vcap/app", "TMPDIR=/home/vcap/tmp", NULL};
    assert_int_equal(launch_default_run_dir(with_tmpdir, buf, sizeof buf), 0);
    assert_string_equal(buf, "/home/vcap/tmp/erlang-cluster");
    char *empty_tmpdir[] = {"TMPDIR=", NULL};
    assert_int_equal(launch_default_run_dir(empty_tmpdir, buf, sizeof buf), 0);
    assert_string_equal(buf, "/tmp/erlang-cluster");
    char *none[] = {NULL};
    assert_int_equal(launch_default_run_dir(none, buf, sizeof buf), 0);
    assert_string_equal(buf, "/tmp/erlang-cluster");
    char small[8];
    assert_int_equal(launch_default_run_dir(with_tmpdir, small, sizeof small), -1);
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
        cmocka_unit_test_setup_teardown(releasing_the_claim_puts_the_guest_flags_in_node_args,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(releasing_the_claim_without_guest_flags_fails_clearly,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(an_empty_run_dir_holds_no_live_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(a_held_agent_lock_is_a_live_claim_until_released, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_running_claimer_is_a_live_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(a_claimer_that_has_exited_holds_no_claim, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_reused_pid_or_a_mangled_record_holds_no_claim, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recording_a_process_that_does_not_exist_fails_clearly,
                                        setup, teardown),
        cmocka_unit_test(the_default_run_dir_is_under_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
