/* Launch step: what goes into the run dir's files. The relx vm.args keeps the release's own
 * flags but not its name and cookie; the env file exports values no shell expands; the
 * cookie is settled between the staged file and a run-time one. (The whole launch is checked
 * end to end in tests/bats/launch.bats.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/secret.h"
#include "launch/env_file.h"
#include "launch/launch_files.h"
#include "launch/run_dir.h"
#include "launch/relx_vm_args.h"
#include "launch/settle_cookie.h"
#include "scratch_dir.h"

static void relx_vm_args_keep_the_release_flags_but_not_its_name_or_cookie(void **state)
{
    struct fixture *fx = *state;
    write_file(fx->dir, "vm.args", "-name rel@127.0.0.1\n  -sname short\n-setcookie secret\n"
                                   "+K true\n-names_are_other_flags x\n-kernel a b");
    char source[256];
    snprintf(source, sizeof source, "%s/vm.args", fx->dir);
    struct strbuf out = {0};
    assert_int_equal(relx_render_vm_args(source, "app@10.0.0.1", "-kernel net_ticktime 60\n",
                                         &out, fx->err, sizeof fx->err),
                     0);
    const char *text = strbuf_text(&out);
    assert_null(strstr(text, "rel@127.0.0.1"));
    assert_null(strstr(text, "short"));
    assert_null(strstr(text, "secret"));
    const char *kept = strstr(text, "\n+K true\n-names_are_other_flags x\n-kernel a b\n");
    assert_non_null(kept);
    assert_non_null(strstr(kept, "\n-name app@10.0.0.1\n-kernel net_ticktime 60\n"));
    strbuf_release(&out);
}

static void relx_vm_args_come_from_vmargs_path_or_the_release_version(void **state)
{
    struct fixture *fx = *state;
    char script[256], buf[512], want[512];
    snprintf(script, sizeof script, "%s/rel/app/bin/app", fx->dir);
    char *user[] = {"VMARGS_PATH=/srv/my.args", NULL};
    assert_int_equal(relx_source_vm_args(script, user, buf, sizeof buf, fx->err,
                                         sizeof fx->err), 0);
    assert_string_equal(buf, "/srv/my.args");

    char *none[] = {NULL};
    write_file(fx->dir, "rel/app/releases/start_erl.data", "14.2 0.3.1\n");
    assert_int_equal(relx_source_vm_args(script, none, buf, sizeof buf, fx->err,
                                         sizeof fx->err), 0);
    snprintf(want, sizeof want, "%s/rel/app/releases/0.3.1/vm.args", fx->dir);
    assert_string_equal(buf, want);

    write_file(fx->dir, "rel/app/releases/start_erl.data", "14.2\n");
    assert_int_equal(relx_source_vm_args(script, none, buf, sizeof buf, fx->err,
                                         sizeof fx->err), -1);
    assert_non_null(strstr(fx->err, "start_erl.data is not \"ERTS_VSN REL_VSN\""));
}

static void the_env_file_exports_every_value_as_one_unexpanded_word(void **state)
{
    (void)state;
    struct config cfg = {0};
    char *env[] = {"ERL_AFLAGS=-args_file '/run/node.args' +K true $(id)", NULL};
    struct launch_plan plan = {.run_dir = "/run", .launcher = true, .env = env, .cfg = &cfg,
                               .node_name = "app@10.0.0.1", .style = START_STYLE_MIX_RELEASE,
                               .cookie = "c'$(id)`id`"};
    struct strbuf out = {0};
    assert_int_equal(launch_render_env_file(&plan, &out), 0);
    const char *text = strbuf_text(&out);
    /* Our args file once, first; the user's flags kept after it. */
    assert_non_null(strstr(text, "export ERL_AFLAGS='-args_file '\\''/run/node.args'\\'' +K "
                                 "true $(id)'\n"));
    assert_non_null(strstr(text, "export RELEASE_DISTRIBUTION='name'\n"));
    assert_non_null(strstr(text, "export RELEASE_NODE='app@10.0.0.1'\n"));
    assert_non_null(strstr(text, "export RELEASE_COOKIE='c'\\''$(id)`id`'\n"));
    strbuf_release(&out);
}

/* Epmd-less, a relx guest shell uses nodetool (a BEAM reading guest.args) and never gets
 * ERL_DIST_PORT: relx would turn it into a second -erl_epmd_port, which remote_console's VM
 * would then ignore. */
static void a_relx_guest_shell_without_epmd_uses_nodetool_without_the_dist_port(void **state)
{
    (void)state;
    struct config cfg = {.epmd = false, .dist_port = 9123};
    char *env[] = {NULL};
    struct launch_plan plan = {.run_dir = "/run", .launcher = false, .env = env, .cfg = &cfg,
                               .node_name = "app@10.0.0.1", .style = START_STYLE_RELX};
    struct strbuf out = {0};
    assert_int_equal(launch_render_env_file(&plan, &out), 0);
    assert_non_null(strstr(strbuf_text(&out), "export ERL_AFLAGS='-args_file '\\''/run/"
                                              "guest.args'\\'''\n"));
    assert_non_null(strstr(strbuf_text(&out), "export VMARGS_PATH='/run/vm.args'\n"));
    assert_non_null(strstr(strbuf_text(&out), "export USE_NODETOOL='1'\n"));
    assert_null(strstr(strbuf_text(&out), "ERL_DIST_PORT"));
    strbuf_release(&out);
    plan.launcher = true; /* relx adds its own -erl_epmd_port for the app */
    assert_int_equal(launch_render_env_file(&plan, &out), 0);
    assert_null(strstr(strbuf_text(&out), "ERL_DIST_PORT"));
    assert_null(strstr(strbuf_text(&out), "USE_NODETOOL"));
    strbuf_release(&out);
}

/* erl_call, relx's default for ping/rpc/eval, cannot speak TLS: a TLS guest shell makes relx
 * use a BEAM (nodetool), which takes the port from guest.args and must not get it twice. */
static void a_relx_guest_shell_with_tls_uses_nodetool_without_the_dist_port(void **state)
{
    (void)state;
    struct config cfg = {.epmd = false, .dist_port = 9123};
    struct tls_decision tls = {.outcome = TLS_OUTCOME_ON};
    char *env[] = {NULL};
    struct launch_plan plan = {.run_dir = "/run", .launcher = false, .env = env, .cfg = &cfg,
                               .node_name = "app@10.0.0.1", .style = START_STYLE_RELX,
                               .tls = &tls};
    struct strbuf out = {0};
    assert_int_equal(launch_render_env_file(&plan, &out), 0);
    assert_non_null(strstr(strbuf_text(&out), "export USE_NODETOOL='1'\n"));
    assert_null(strstr(strbuf_text(&out), "ERL_DIST_PORT"));
    strbuf_release(&out);
    plan.launcher = true;
    assert_int_equal(launch_render_env_file(&plan, &out), 0);
    assert_null(strstr(strbuf_text(&out), "USE_NODETOOL"));
    strbuf_release(&out);
}

static void the_staged_cookie_is_used_when_none_is_given_at_run_time(void **state)
{
    struct fixture *fx = *state;
    struct config cfg = {0};
    char *cookie = NULL;
    write_file(fx->dir, ".erlang.cookie", "Staged-Cookie\n");
    assert_int_equal(launch_settle_cookie(&cfg, fx->dir, &cookie, fx->err, sizeof fx->err), 0);
    assert_string_equal(cookie, "Staged-Cookie");
    secret_free(cookie);

    write_file(fx->dir, ".erlang.cookie", "two\nlines\n");
    assert_int_equal(launch_settle_cookie(&cfg, fx->dir, &cookie, fx->err, sizeof fx->err), -1);
    assert_null(cookie);
    assert_non_null(strstr(fx->err, "/.erlang.cookie is missing or not 1..255 printable"));
    assert_null(strstr(fx->err, "lines"));
}

static void a_run_time_cookie_replaces_the_staged_file(void **state)
{
    struct fixture *fx = *state;
    struct config cfg = {.cookie = "Run-Time-Cookie"};
    char *cookie = NULL;
    write_file(fx->dir, ".erlang.cookie", "Staged-Cookie");
    assert_int_equal(launch_settle_cookie(&cfg, fx->dir, &cookie, fx->err, sizeof fx->err), 0);
    assert_string_equal(cookie, "Run-Time-Cookie");
    secret_free(cookie);
    char *text = read_back(fx->dir, ".erlang.cookie");
    assert_string_equal(text, "Run-Time-Cookie");
    free(text);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/.erlang.cookie", fx->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0400);

    assert_int_equal(launch_settle_cookie(&cfg, NULL, &cookie, fx->err, sizeof fx->err), -1);
    assert_non_null(strstr(fx->err, "HOME is not set"));
}

/* How many times needle occurs in text. */
static int occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static bool run_file_exists(const char *dir, const char *name, mode_t *mode)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st) != 0)
        return false;
    *mode = st.st_mode & 07777;
    return true;
}

/* With TLS on, the app's flags (node.args, erl style) and the guests' (guest.args) name the
 * protocol and their own optfile once each; the optfiles and the agent's record are there
 * (0600). The next start with TLS off leaves no record behind. */
static void tls_on_adds_the_protocol_and_optfiles_once_and_off_removes_the_record(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {NULL};
    struct config cfg = {.dist_port = 9001, .net_ticktime = 60};
    struct tls_decision tls = {.outcome = TLS_OUTCOME_ON,
                               .id = {.certfile = "/id/instance.crt",
                                      .keyfile = "/id/instance.key",
                                      .cafile = "/id/instance.crt",
                                      .app_guid = "0b0c2a4e-2f9e-4f55-9d6a-3a0c7f3e1c2d"}};
    struct launch_plan plan = {.run_dir = fx->dir, .launcher = true, .env = env, .cfg = &cfg,
                               .node_name = "app@10.0.0.1", .style = START_STYLE_ERL,
                               .cookie = "c", .tls = &tls};
    assert_int_equal(launch_write_files(&plan, fx->err, sizeof fx->err), 0);
    char *node = read_back(fx->dir, RUN_FILE_NODE_ARGS);
    char *guest = read_back(fx->dir, RUN_FILE_GUEST_ARGS);
    char app_flag[600], guest_flag[600];
    snprintf(app_flag, sizeof app_flag, "\n-ssl_dist_optfile '%s/" RUN_FILE_TLS_APP_OPTS "'\n",
             fx->dir);
    snprintf(guest_flag, sizeof guest_flag,
             "\n-ssl_dist_optfile '%s/" RUN_FILE_TLS_GUEST_OPTS "'\n", fx->dir);
    assert_int_equal(occurrences(node, "-proto_dist inet_tls\n"), 1);
    assert_int_equal(occurrences(node, "-ssl_dist_optfile"), 1);
    assert_int_equal(occurrences(node, app_flag), 1);
    assert_int_equal(occurrences(guest, "-proto_dist inet_tls\n"), 1);
    assert_int_equal(occurrences(guest, "-ssl_dist_optfile"), 1);
    assert_int_equal(occurrences(guest, guest_flag), 1);
    assert_non_null(strstr(guest, "-dist_listen false\n"));
    free(node);
    free(guest);
    mode_t mode = 0;
    static const char *const written[] = {RUN_FILE_TLS_APP_OPTS, RUN_FILE_TLS_GUEST_OPTS,
                                          RUN_FILE_TLS_IDENTITY};
    for (size_t i = 0; i < 3; i++) {
        assert_true(run_file_exists(fx->dir, written[i], &mode));
        assert_int_equal(mode, 0600);
    }
    char *optfile = read_back(fx->dir, RUN_FILE_TLS_APP_OPTS);
    assert_non_null(strstr(optfile, "CertFile = \"/id/instance.crt\""));
    free(optfile);

    struct tls_decision clear = {.outcome = TLS_OUTCOME_CLEAR};
    plan.tls = &clear;
    assert_int_equal(launch_write_files(&plan, fx->err, sizeof fx->err), 0);
    assert_false(run_file_exists(fx->dir, RUN_FILE_TLS_IDENTITY, &mode));
    node = read_back(fx->dir, RUN_FILE_NODE_ARGS);
    guest = read_back(fx->dir, RUN_FILE_GUEST_ARGS);
    assert_null(strstr(node, "inet_tls"));
    assert_null(strstr(guest, "inet_tls"));
    free(node);
    free(guest);
}

/* A guest shell writes its own flags and optfile but never the app's or the record. */
static void a_guest_shell_with_tls_writes_no_record(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {NULL};
    struct config cfg = {.dist_port = 9001, .net_ticktime = 60};
    struct tls_decision tls = {.outcome = TLS_OUTCOME_ON,
                               .id = {.certfile = "/id/instance.crt",
                                      .keyfile = "/id/instance.key",
                                      .cafile = "/id/instance.crt",
                                      .app_guid = "0b0c2a4e-2f9e-4f55-9d6a-3a0c7f3e1c2d"}};
    struct launch_plan plan = {.run_dir = fx->dir, .launcher = false, .env = env, .cfg = &cfg,
                               .node_name = "app@10.0.0.1", .style = START_STYLE_ERL,
                               .tls = &tls};
    assert_int_equal(launch_write_files(&plan, fx->err, sizeof fx->err), 0);
    mode_t mode = 0;
    assert_true(run_file_exists(fx->dir, RUN_FILE_TLS_GUEST_OPTS, &mode));
    assert_false(run_file_exists(fx->dir, RUN_FILE_TLS_APP_OPTS, &mode));
    assert_false(run_file_exists(fx->dir, RUN_FILE_TLS_IDENTITY, &mode));
    char *guest = read_back(fx->dir, RUN_FILE_GUEST_ARGS);
    assert_int_equal(occurrences(guest, "-proto_dist inet_tls\n"), 1);
    free(guest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            relx_vm_args_keep_the_release_flags_but_not_its_name_or_cookie, setup, teardown),
        cmocka_unit_test_setup_teardown(
            relx_vm_args_come_from_vmargs_path_or_the_release_version, setup, teardown),
        cmocka_unit_test(the_env_file_exports_every_value_as_one_unexpanded_word),
        cmocka_unit_test(a_relx_guest_shell_without_epmd_uses_nodetool_without_the_dist_port),
        cmocka_unit_test(a_relx_guest_shell_with_tls_uses_nodetool_without_the_dist_port),
        cmocka_unit_test_setup_teardown(
            the_staged_cookie_is_used_when_none_is_given_at_run_time, setup, teardown),
        cmocka_unit_test_setup_teardown(a_run_time_cookie_replaces_the_staged_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            tls_on_adds_the_protocol_and_optfiles_once_and_off_removes_the_record, setup,
            teardown),
        cmocka_unit_test_setup_teardown(a_guest_shell_with_tls_writes_no_record, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
