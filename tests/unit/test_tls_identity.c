/* The TLS identity record: what prepare writes is what the agent reads; no record means clear
 * text; a damaged record is an error, never taken for clear text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "scratch_dir.h"

#include "launch/tls_identity.h"

#define APP "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
#define OTHER "99999999-8888-4777-8666-555544443333"
#define SPACE "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static struct tls_identity sample(void)
{
    struct tls_identity id = {
        .certfile = "/etc/cf-instance-credentials/instance.crt",
        .keyfile = "/etc/cf-instance-credentials/instance.key",
        .cafile = "/etc/cf-instance-credentials/instance.crt",
        .app_guid = APP,
        .allow = {"app:" OTHER, "space:" SPACE},
        .allow_count = 2,
    };
    return id;
}

static void what_is_written_is_read_back(void **state)
{
    struct fixture *fx = *state;
    struct tls_identity in = sample(), out;
    assert_int_equal(tls_identity_write(fx->dir, &in, fx->err, sizeof fx->err), 0);
    assert_int_equal(tls_identity_read(fx->dir, &out, fx->err, sizeof fx->err), 1);
    assert_string_equal(out.certfile, in.certfile);
    assert_string_equal(out.keyfile, in.keyfile);
    assert_string_equal(out.cafile, in.cafile);
    assert_string_equal(out.app_guid, APP);
    assert_int_equal(out.allow_count, 2);
    assert_string_equal(out.allow[0], "app:" OTHER);
    assert_string_equal(out.allow[1], "space:" SPACE);
    tls_identity_free(&out);

    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", fx->dir, RUN_FILE_TLS_IDENTITY);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void no_record_means_clear_text_and_remove_makes_it_so(void **state)
{
    struct fixture *fx = *state;
    struct tls_identity in = sample(), out;
    assert_int_equal(tls_identity_read(fx->dir, &out, fx->err, sizeof fx->err), 0);
    assert_int_equal(tls_identity_write(fx->dir, &in, fx->err, sizeof fx->err), 0);
    assert_int_equal(tls_identity_remove(fx->dir, fx->err, sizeof fx->err), 0);
    assert_int_equal(tls_identity_read(fx->dir, &out, fx->err, sizeof fx->err), 0);
    assert_int_equal(tls_identity_remove(fx->dir, fx->err, sizeof fx->err), 0);
}

static void a_damaged_record_is_an_error(void **state)
{
    struct fixture *fx = *state;
    static const char *const damaged[] = {
        "certfile /a\nkeyfile /b\ncafile /c\n",                       /* no app */
        "certfile /a\nkeyfile /b\ncafile /c\napp " APP "\nport 9\n",  /* unknown key */
        "certfile a\nkeyfile /b\ncafile /c\napp " APP "\n",           /* relative */
        "certfile /a\nkeyfile /b\ncafile /c\napp nope\n",             /* not a GUID */
        "certfile /a\ncertfile /b\nkeyfile /b\ncafile /c\napp " APP "\n", /* twice */
        "certfile /a\nkeyfile /b\ncafile /c\napp " APP "\nallow org:" APP "\n",
    };
    for (size_t i = 0; i < sizeof damaged / sizeof *damaged; i++) {
        write_file(fx->dir, RUN_FILE_TLS_IDENTITY, damaged[i]);
        struct tls_identity out;
        fx->err[0] = '\0';
        assert_int_equal(tls_identity_read(fx->dir, &out, fx->err, sizeof fx->err), -1);
        assert_non_null(strstr(fx->err, RUN_FILE_TLS_IDENTITY));
        assert_null(out.certfile);
    }
}

static void an_invalid_identity_is_not_written(void **state)
{
    struct fixture *fx = *state;
    struct tls_identity in = sample(), out;
    in.keyfile = "/etc/key\nallow app:" OTHER;
    assert_int_equal(tls_identity_write(fx->dir, &in, fx->err, sizeof fx->err), -1);
    assert_non_null(strstr(fx->err, "key path"));
    in = sample();
    in.app_guid = "6f1e2d3c";
    assert_int_equal(tls_identity_write(fx->dir, &in, fx->err, sizeof fx->err), -1);
    assert_int_equal(tls_identity_read(fx->dir, &out, fx->err, sizeof fx->err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(what_is_written_is_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(no_record_means_clear_text_and_remove_makes_it_so, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_damaged_record_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(an_invalid_identity_is_not_written, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
