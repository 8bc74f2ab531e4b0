/* manifest.yml and config.yml: reading defaults, writing and re-reading config.yml. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fsutil.h"
#include "common/settings_file.h"

struct fixture {
    char dir[64];
    char path[128];
    char err[1024];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    strcpy(fx->dir, "/tmp/test_manifest.XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    snprintf(fx->path, sizeof fx->path, "%s/file.yml", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    unlink(fx->path);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void write_text(const char *path, const char *text)
{
    char err[256];
    if (fs_write_atomic(path, text, strlen(text), 0644, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static void reads_the_project_manifest(void **state)
{
    struct fixture *fx = *state;
    struct settings_file m;
    /* The real manifest.yml, from the source tree the tests run in. */
    assert_int_equal(manifest_read("manifest.yml", &m, fx->err, sizeof fx->err), 0);
    assert_string_equal(m.name, "erlang_cluster");
    assert_non_null(m.version);
    assert_string_equal(m.defaults[FIELD_DIST_PORT], "9001");
    assert_string_equal(m.defaults[FIELD_EPMD], "false");
    assert_string_equal(m.defaults[FIELD_POLL_INTERVAL], "60");
    assert_string_equal(m.defaults[FIELD_HEARTBEAT_INTERVAL], "30");
    assert_string_equal(m.defaults[FIELD_NET_TICKTIME], "60");
    assert_string_equal(m.defaults[FIELD_PROCESS_TYPES], "web");
    assert_string_equal(m.defaults[FIELD_LOG_LEVEL], "info");
    assert_string_equal(m.defaults[FIELD_DISCOVERY], "auto");
    assert_null(m.defaults[FIELD_COOKIE]);
    settings_file_free(&m);

    /* It agrees with VERSION, which the Makefile compiles in. */
    char *version = NULL;
    assert_int_equal(fs_read_file("VERSION", 64, &version, NULL, fx->err, sizeof fx->err), 0);
    version[strcspn(version, "\n")] = '\0';
    assert_int_equal(manifest_read("manifest.yml", &m, fx->err, sizeof fx->err), 0);
    assert_string_equal(m.version, version);
    settings_file_free(&m);
    free(version);
}

static void ignores_packaging_keys_and_accepts_empty_defaults(void **state)
{
    struct fixture *fx = *state;
    write_text(fx->path, "language: x\nversion: 1\nstack: cflinuxfs4\ninclude_files: [a, b]\n"
                         "dependencies: []\ndefaults:\n");
    struct settings_file m;
    assert_int_equal(manifest_read(fx->path, &m, fx->err, sizeof fx->err), 0);
    assert_string_equal(m.version, "1");
    for (int f = 0; f < FIELD_COUNT; f++)
        assert_null(m.defaults[f]);
    settings_file_free(&m);
}

static void rejects_bad_manifests_naming_the_file(void **state)
{
    struct fixture *fx = *state;
    static const char *const bad[][2] = {
        {"defaults: [1, 2]\n", "must be a map"},
        {"defaults:\n  ERLANG_CLUSTER_PORT: 1\n", "ERLANG_CLUSTER_PORT is not a setting"},
        {"defaults:\n  ERLANG_CLUSTER_COOKIE: x\n", "never be stored"},
        {"version: [1]\n", "single value"},
        {"\"unterminated\n", "not valid YAML"},
        {"just a string\n", "mapping"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(fx->path, bad[i][0]);
        struct settings_file m;
        assert_int_equal(manifest_read(fx->path, &m, fx->err, sizeof fx->err), -1);
        if (strstr(fx->err, fx->path) == NULL || strstr(fx->err, bad[i][1]) == NULL)
            fail_msg("for %s: \"%s\"", bad[i][0], fx->err);
    }
    struct settings_file m;
    assert_int_equal(manifest_read(fx->dir, &m, fx->err, sizeof fx->err), -1);
    assert_non_null(strstr(fx->err, "not a regular file"));
}

static void config_yml_round_trips_in_libbuildpack_shape(void **state)
{
    struct fixture *fx = *state;
    struct settings_file in = {0};
    in.name = "erlang_cluster";
    in.version = "0.1.0";
    in.env[FIELD_DIST_PORT] = "9005";
    in.env[FIELD_PEERS] = "a@10.0.0.1,b@10.0.0.2";
    in.env[FIELD_NAME] = "needs: \"quoting\" # really";
    in.env[FIELD_COOKIE] = "must-not-be-written";
    in.defaults[FIELD_LOG_LEVEL] = "debug";
    assert_int_equal(staged_config_write(fx->path, &in, fx->err, sizeof fx->err), 0);

    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    char *text = NULL;
    assert_int_equal(fs_read_file(fx->path, 65536, &text, NULL, fx->err, sizeof fx->err), 0);
    assert_non_null(strstr(text, "name: \"erlang_cluster\""));
    assert_non_null(strstr(text, "config:"));
    assert_null(strstr(text, "must-not-be-written"));
    free(text);

    struct settings_file out;
    assert_int_equal(staged_config_read(fx->path, &out, fx->err, sizeof fx->err), 0);
    assert_string_equal(out.name, "erlang_cluster");
    assert_string_equal(out.version, "0.1.0");
    assert_string_equal(out.env[FIELD_DIST_PORT], "9005");
    assert_string_equal(out.env[FIELD_PEERS], "a@10.0.0.1,b@10.0.0.2");
    assert_string_equal(out.env[FIELD_NAME], "needs: \"quoting\" # really");
    assert_null(out.env[FIELD_COOKIE]);
    assert_null(out.env[FIELD_LOG_LEVEL]);
    assert_string_equal(out.defaults[FIELD_LOG_LEVEL], "debug");
    settings_file_free(&out);
}

static void keys_in_errors_are_shown_on_one_printable_line(void **state)
{
    struct fixture *fx = *state;
    static const char *const bad[][2] = {
        {"defaults:\n  \"ERLANG_CLUSTER_\\tX\\nY\": 1\n", "defaults.ERLANG_CLUSTER_?X?Y is not"},
        {"name: x\nconfig:\n  env:\n    \"\\e[2JERLANG\": 1\n", "config.env.?[2JERLANG is not"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(fx->path, bad[i][0]);
        struct settings_file m;
        int rc = i == 0 ? manifest_read(fx->path, &m, fx->err, sizeof fx->err)
                        : staged_config_read(fx->path, &m, fx->err, sizeof fx->err);
        assert_int_equal(rc, -1);
        if (strstr(fx->err, bad[i][1]) == NULL)
            fail_msg("for %s: \"%s\"", bad[i][0], fx->err);
        for (const char *p = fx->err; *p != '\0'; p++)
            if ((unsigned char)*p < ' ' || *p == 0x7f)
                fail_msg("control character in \"%s\"", fx->err);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(reads_the_project_manifest),
        T(ignores_packaging_keys_and_accepts_empty_defaults),
        T(rejects_bad_manifests_naming_the_file),
        T(config_yml_round_trips_in_libbuildpack_shape),
        T(keys_in_errors_are_shown_on_one_printable_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
