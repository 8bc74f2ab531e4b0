/* The one cookie file reader: trailing blanks and line ends trimmed, one valid line or an
 * error that names the file and never shows the content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/cookie.h"
#include "scratch_dir.h"

static enum cookie_read read_cookie(struct fixture *fx, const char *content, char **cookie)
{
    char path[256];
    snprintf(path, sizeof path, "%s/cookie", fx->dir);
    if (content != NULL)
        write_file(fx->dir, "cookie", content);
    return cookie_read_file(path, cookie, fx->err, sizeof fx->err);
}

static void trailing_blanks_and_line_ends_are_dropped(void **state)
{
    struct fixture *fx = *state;
    char *cookie = NULL;
    assert_int_equal(read_cookie(fx, "Secret-Cookie \t\r\n\n", &cookie), COOKIE_READ_OK);
    assert_string_equal(cookie, "Secret-Cookie");
    secret_free(cookie);
    assert_int_equal(read_cookie(fx, "Secret-Cookie", &cookie), COOKIE_READ_OK);
    assert_string_equal(cookie, "Secret-Cookie");
    secret_free(cookie);
}

static void unusable_content_is_refused_without_showing_it(void **state)
{
    struct fixture *fx = *state;
    static const char *const bad[] = {"", " \n", "first-line\nsecond-line\n", "two words\n",
                                      " leading-blank"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *cookie = (char *)"unset";
        assert_int_equal(read_cookie(fx, bad[i], &cookie), COOKIE_READ_INVALID);
        assert_null(cookie);
        assert_non_null(strstr(fx->err, "/cookie does not hold a usable cookie"));
        assert_null(strstr(fx->err, "line"));
        assert_null(strstr(fx->err, "words"));
    }
    char longest[COOKIE_TEXT_MAX + 2];
    memset(longest, 'c', sizeof longest);
    longest[COOKIE_TEXT_MAX] = '\0';
    char *cookie = NULL;
    assert_int_equal(read_cookie(fx, longest, &cookie), COOKIE_READ_OK);
    secret_free(cookie);
    longest[COOKIE_TEXT_MAX] = 'c';
    longest[COOKIE_TEXT_MAX + 1] = '\0';
    assert_int_equal(read_cookie(fx, longest, &cookie), COOKIE_READ_INVALID);
}

static void missing_large_and_odd_files_are_told_apart(void **state)
{
    struct fixture *fx = *state;
    char *cookie = NULL;
    assert_int_equal(read_cookie(fx, NULL, &cookie), COOKIE_READ_MISSING);
    assert_non_null(strstr(fx->err, "/cookie does not exist"));
    char *huge = malloc(COOKIE_FILE_MAX + 2);
    assert_non_null(huge);
    memset(huge, 'c', COOKIE_FILE_MAX + 1);
    huge[COOKIE_FILE_MAX + 1] = '\0';
    assert_int_equal(read_cookie(fx, huge, &cookie), COOKIE_READ_FAILED);
    free(huge);
    assert_non_null(strstr(fx->err, "larger than"));
    char dir[256];
    snprintf(dir, sizeof dir, "%s/cookie-dir", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(cookie_read_file(dir, &cookie, fx->err, sizeof fx->err),
                     COOKIE_READ_FAILED);
    assert_non_null(strstr(fx->err, "not a regular file"));
    assert_null(cookie);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(trailing_blanks_and_line_ends_are_dropped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unusable_content_is_refused_without_showing_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(missing_large_and_odd_files_are_told_apart, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
