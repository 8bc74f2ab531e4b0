/* Which chosen cookies staging calls weak (supply/cookie_strength.h), and that the warning's
 * reason never quotes the cookie. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "supply/cookie_strength.h"

static void assert_weak_because(const char *cookie, const char *because)
{
    char why[160];
    const char *said = cookie_weakness(cookie, why, sizeof why);
    if (said == NULL)
        fail_msg("not called weak: a cookie of %zu characters", strlen(cookie));
    assert_non_null(strstr(said, because));
    assert_null(strstr(said, cookie));
}

static void short_or_narrow_cookies_are_weak_by_their_estimated_bits(void **state)
{
    (void)state;
    assert_weak_because("s3cr3t-c00k1e", "about");          /* 13 of 68: 79 bits */
    assert_weak_because("abcdefghijklmnopqrst", "about");   /* 20 lower-case: 94 bits */
    assert_weak_because("0123456789012345678901234567", "about"); /* digits: 92 bits */
    assert_weak_because("Xk9#mQ2v", "under 96");
}

static void long_cookies_with_an_obvious_pattern_are_weak(void **state)
{
    (void)state;
    assert_weak_because("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaAB1",
                        "different characters");
    assert_weak_because("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
                        "consecutive");
    assert_weak_because("My-Phoenix-Cluster-Cookie-2024!", "guessers try first");
    assert_weak_because("Shared.Cookie-9f8e7d", "\"cookie\"");
}

/* What the advice produces, and what the buildpack itself generates, pass. */
static void random_cookies_pass(void **state)
{
    (void)state;
    char why[160];
    static const char *const strong[] = {
        "q3N8vJx0ZtR4mK7pL2wY9bH5cF1dG6sA",             /* generated: 32 of [A-Za-z0-9] */
        "nX2R0pY4v8kZ+Qm1d7LhS3gT/9cWfB6eJ5aU0oIqK4E=", /* openssl rand -base64 32 */
        "5f0c3e9a7b14d2c8e6f0a9b3d7c1e5f2",             /* openssl rand -hex 16 */
        "3b2e7f0a-9c41-4d8e-b6a2-5f1c0e9d7a34",         /* uuidgen */
    };
    for (size_t i = 0; i < sizeof strong / sizeof *strong; i++) {
        const char *said = cookie_weakness(strong[i], why, sizeof why);
        if (said != NULL)
            fail_msg("strong cookie %zu called weak: %s", i, said);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_or_narrow_cookies_are_weak_by_their_estimated_bits),
        cmocka_unit_test(long_cookies_with_an_obvious_pattern_are_weak),
        cmocka_unit_test(random_cookies_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
