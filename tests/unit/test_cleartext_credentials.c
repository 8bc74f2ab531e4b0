/* The plain-http warning staging and the agent share: it names the binding and exactly what
 * would go over http://, stays one printable line, and says nothing when nothing secret goes
 * over http. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/cleartext_credentials.h"

#define HTTPS_TOKEN "https://uaa.example.com/oauth/token"
#define HTTP_TOKEN "http://uaa.apps.internal/oauth/token"

static void names_what_goes_over_plain_http(void **state)
{
    (void)state;
    char msg[512];
    assert_true(cleartext_credentials_warning("reg", "http://eureka.apps.internal", "id",
                                              HTTP_TOKEN, msg, sizeof msg));
    assert_non_null(strstr(msg, "registry binding \"reg\": the OAuth2 client secret and access "
                                "tokens go over plain http:// (access_token_uri and uri)"));
    assert_true(cleartext_credentials_warning("reg", "https://eureka.example.com", "id",
                                              HTTP_TOKEN, msg, sizeof msg));
    assert_non_null(strstr(msg, "the OAuth2 client secret goes over plain http:// "
                                "(access_token_uri)"));
    assert_true(cleartext_credentials_warning("reg", "HTTP://eureka.apps.internal", "id",
                                              HTTPS_TOKEN, msg, sizeof msg));
    assert_non_null(strstr(msg, "access tokens go over plain http:// (uri)"));
}

static void silent_over_https_or_without_oauth(void **state)
{
    (void)state;
    char msg[512] = "unchanged";
    assert_false(cleartext_credentials_warning("reg", "https://eureka.example.com", "id",
                                               HTTPS_TOKEN, msg, sizeof msg));
    assert_string_equal(msg, "");
    assert_false(cleartext_credentials_warning("reg", "http://eureka.apps.internal", NULL, NULL,
                                               msg, sizeof msg));
    assert_false(cleartext_credentials_warning("reg", "http://eureka.apps.internal", "",
                                               HTTP_TOKEN, msg, sizeof msg));
    assert_string_equal(msg, "");
}

static void a_hostile_binding_name_stays_one_bounded_line(void **state)
{
    (void)state;
    char name[200];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    name[3] = '\n';
    name[4] = '\x1b';
    char msg[512];
    assert_true(cleartext_credentials_warning(name, "http://e", "id", HTTP_TOKEN, msg,
                                              sizeof msg));
    assert_null(strchr(msg, '\n'));
    assert_null(strchr(msg, '\x1b'));
    assert_non_null(strstr(msg, "\"nnn??nnn"));
    assert_null(strstr(msg, name + 5)); /* cut: the full name is not there */
    assert_non_null(strstr(msg, "over plain http://"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_what_goes_over_plain_http),
        cmocka_unit_test(silent_over_https_or_without_oauth),
        cmocka_unit_test(a_hostile_binding_name_stays_one_bounded_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
