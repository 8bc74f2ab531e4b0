/* Launch step: the run dir, the name claim hand-over, and which earlier claims a second
 * --launcher must refuse. */
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

#include "launch/claim.h"
#include "launch/run_dir.h"
#include "scratch_dir.h"

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

static void the_run_dir_is_made_private_and_must_be_a_directory(void **state)
{
    struct fixture *fx = *state;
    char run_dir[128];
    snprintf(run_dir, sizeof run_dir, "%s/run", fx->dir);
    assert_int_equal(mkdir(run_dir, 0755), 0);
    assert_int_equal(launch_ensure_run_dir(run_dir, fx->err, sizeof fx->err), 0);
    struct stat st;
    assert_int_equal(stat(run_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    write_file(fx->dir, "file", "x");
    snprintf(run_dir, sizeof run_dir, "%s/file", fx->dir);
    assert_int_equal(launch_ensure_run_dir(run_dir, fx->err, sizeof fx->err), -1);
    assert_non_null(strstr(fx->err, "not a directory owned by this user"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
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
        cmocka_unit_test_setup_teardown(the_run_dir_is_made_private_and_must_be_a_directory,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
