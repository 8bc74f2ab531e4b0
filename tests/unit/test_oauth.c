/* OAuth2 token answers and when a cached token is replaced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "discovery/oauth.h"

static void parses_a_uaa_answer(void **state)
{
    (void)state;
    char *token = NULL;
    long expires = 0;
    char err[256];
    assert_int_equal(oauth_parse_token_response(
                         "{\"access_token\":\"abc.def\",\"token_type\":\"bearer\",\"expires_in\":29,"
                         "\"scope\":\"uaa.resource\",\"jti\":\"x\"}",
                         &token, &expires, err, sizeof err),
                     0);
    assert_string_equal(token, "abc.def");
    assert_int_equal(expires, 29);
    free(token);
}

static void accepts_bearer_in_any_case_and_expires_in_as_string(void **state)
{
    (void)state;
    char *token = NULL;
    long expires = 0;
    char err[256];
    assert_int_equal(oauth_parse_token_response(
                         "{\"access_token\":\"t\",\"token_type\":\"Bearer\",\"expires_in\":\"3600\"}",
                         &token, &expires, err, sizeof err),
                     0);
    assert_int_equal(expires, 3600);
    free(token);
}

static void defaults_the_lifetime_when_expires_in_is_absent(void **state)
{
    (void)state;
    char *token = NULL;
    long expires = 0;
    char err[256];
    assert_int_equal(oauth_parse_token_response("{\"access_token\":\"t\"}", &token, &expires, err,
                                                sizeof err),
                     0);
    assert_int_equal(expires, 30);
    free(token);
}

static void rejects_answers_without_a_usable_token(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"error\":\"unauthorized\"}",
        "{\"access_token\":\"\",\"expires_in\":29}",
        "{\"access_token\":42,\"expires_in\":29}",
        "{\"access_token\":\"t\",\"token_type\":\"mac\",\"expires_in\":29}",
        "{\"access_token\":\"t\",\"expires_in\":0}",
        "{\"access_token\":\"t\",\"expires_in\":\"soon\"}",
        "<html>login</html>",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *token = (char *)1;
        long expires = 0;
        char err[256] = "";
        assert_int_equal(oauth_parse_token_response(bad[i], &token, &expires, err, sizeof err), -1);
        assert_null(token);
        assert_true(err[0] != '\0');
    }
}

static void error_messages_never_contain_the_token(void **state)
{
    (void)state;
    char *token = NULL;
    long expires = 0;
    char err[256] = "";
    assert_int_equal(oauth_parse_token_response(
                         "{\"access_token\":\"SECRET-TOKEN\",\"token_type\":\"mac\"}", &token,
                         &expires, err, sizeof err),
                     -1);
    assert_null(strstr(err, "SECRET-TOKEN"));
}

static void a_short_token_is_replaced_well_before_it_expires(void **state)
{
    (void)state;
    /* SCS tokens: expires_in 29. Renewed after 20 s, long before 29 s. */
    assert_int_equal(oauth_refresh_at(1000, 29), 1000 + 20000);
    /* One-hour tokens: renewed a minute early. */
    assert_int_equal(oauth_refresh_at(0, 3600), 3540 * 1000);
    /* Absurdly short tokens are still used for a second. */
    assert_int_equal(oauth_refresh_at(0, 1), 1000);
}

static void a_huge_or_endless_lifetime_counts_as_one_day(void **state)
{
    (void)state;
    const char *answers[] = {
        "{\"access_token\":\"t\",\"token_type\":\"bearer\",\"expires_in\":1e300}",
        "{\"access_token\":\"t\",\"token_type\":\"bearer\",\"expires_in\":\"1e400\"}",
        "{\"access_token\":\"t\",\"token_type\":\"bearer\",\"expires_in\":9223372036854775807}",
    };
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        char *token = NULL;
        long expires = 0;
        char err[256];
        assert_int_equal(oauth_parse_token_response(answers[i], &token, &expires, err, sizeof err),
                         0);
        assert_int_equal(expires, OAUTH_MAX_LIFETIME_S);
        free(token);
    }
    /* The refresh time stays a day ahead at most, whatever it is given. */
    assert_true(oauth_refresh_at(1000, 9223372036854775807L) <= 1000 + OAUTH_MAX_LIFETIME_S * 1000);
    assert_true(oauth_refresh_at(1000, 9223372036854775807L) > 1000);
}

static void a_foreign_token_type_is_refused_without_echoing_it(void **state)
{
    (void)state;
    char *token = NULL;
    long expires = 0;
    char err[256];
    assert_int_equal(oauth_parse_token_response(
                         "{\"access_token\":\"t\",\"token_type\":\"mac\\n[FAKE] line\","
                         "\"expires_in\":30}",
                         &token, &expires, err, sizeof err),
                     -1);
    assert_null(token);
    assert_null(strchr(err, '\n'));
    assert_null(strstr(err, "FAKE"));
    assert_non_null(strstr(err, "bearer"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_uaa_answer),
        cmocka_unit_test(accepts_bearer_in_any_case_and_expires_in_as_string),
        cmocka_unit_test(defaults_the_lifetime_when_expires_in_is_absent),
        cmocka_unit_test(rejects_answers_without_a_usable_token),
        cmocka_unit_test(error_messages_never_contain_the_token),
        cmocka_unit_test(a_short_token_is_replaced_well_before_it_expires),
        cmocka_unit_test(a_huge_or_endless_lifetime_counts_as_one_day),
        cmocka_unit_test(a_foreign_token_type_is_refused_without_echoing_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
