/* VCAP_APPLICATION and VCAP_SERVICES parsing: finding the registry, the cookie service, and
 * every malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/vcap.h"

static char err[1024];

static void parses_the_application(void **state)
{
    (void)state;
    struct vcap_application app;
    assert_int_equal(vcap_application_parse(
                         "{\"application_name\":\"shop\",\"name\":\"ignored\",\"application_id\":"
                         "\"g-1\",\"process_type\":\"web\",\"application_uris\":[\"a.example\","
                         "\"b.apps.internal\"],\"limits\":{\"mem\":256}}",
                         &app, err, sizeof err),
                     0);
    assert_string_equal(app.name, "shop");
    assert_string_equal(app.id, "g-1");
    assert_string_equal(app.process_type, "web");
    assert_string_equal(app.uris[0], "a.example");
    assert_string_equal(app.uris[1], "b.apps.internal");
    assert_null(app.uris[2]);
    vcap_application_free(&app);

    assert_int_equal(vcap_application_parse("{\"name\":\"n\",\"uris\":[\"u\"]}", &app, err,
                                            sizeof err),
                     0);
    assert_string_equal(app.name, "n");
    assert_string_equal(app.uris[0], "u");
    vcap_application_free(&app);

    assert_int_equal(vcap_application_parse(NULL, &app, err, sizeof err), 0);
    assert_null(app.name);
    assert_null(app.uris[0]);
    vcap_application_free(&app);
}

static void rejects_malformed_applications(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"{not json", "not valid JSON"},
        {"[1,2]", "JSON object"},
        {"{\"application_name\":42}", "\"application_name\" must be a string"},
        {"{\"application_uris\":\"a.example\"}", "\"application_uris\" must be an array"},
        {"{\"application_uris\":[1]}", "array of strings"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct vcap_application app;
        assert_int_equal(vcap_application_parse(bad[i][0], &app, err, sizeof err), -1);
        if (strstr(err, "VCAP_APPLICATION") == NULL || strstr(err, bad[i][1]) == NULL)
            fail_msg("for %s: \"%s\"", bad[i][0], err);
    }
}

static void finds_registries_by_tag_or_label(void **state)
{
    (void)state;
    struct vcap_services s;
    const char *json =
        "{\"p-service-registry\":[{\"name\":\"scs2\",\"credentials\":{\"uri\":"
        "\"https://eureka-1.example.com\",\"client_id\":\"c\",\"client_secret\":\"s\","
        "\"access_token_uri\":\"https://uaa.example.com/oauth/token\"}}],"
        "\"p.service-registry\":[{\"name\":\"scs3\",\"binding_name\":\"bound3\",\"instance_name\":"
        "\"inst3\",\"credentials\":{\"uri\":\"https://eureka-2.example.com/eureka\"}}],"
        "\"user-provided\":[{\"name\":\"mine\",\"tags\":[\"Eureka\"],\"credentials\":{\"uri\":"
        "\"http://10.0.0.5:8761/\"}},{\"name\":\"db\",\"tags\":[\"postgres\"],\"credentials\":"
        "{\"uri\":\"postgres://x\"}}],\"p-mysql\":[{\"name\":\"sql\",\"credentials\":{}}]}";
    assert_int_equal(vcap_services_parse(json, &s, err, sizeof err), 0);
    assert_int_equal(s.registry_count, 3);
    assert_string_equal(s.registries[0].binding.binding_name, "scs2");
    assert_string_equal(s.registries[0].binding.client_secret, "s");
    assert_string_equal(s.registries[1].binding.binding_name, "bound3");
    assert_string_equal(s.registries[1].binding.uri, "https://eureka-2.example.com");
    assert_null(s.registries[1].binding.client_id);
    assert_string_equal(s.registries[2].binding.uri, "http://10.0.0.5:8761");

    assert_int_equal(vcap_services_select_registry(&s, "inst3", err, sizeof err), 1);
    assert_int_equal(vcap_services_select_registry(&s, "scs3", err, sizeof err), 1);
    assert_int_equal(vcap_services_select_registry(&s, "mine", err, sizeof err), 2);
    assert_int_equal(vcap_services_select_registry(&s, NULL, err, sizeof err), -2);
    assert_non_null(strstr(err, "\"scs2\", \"bound3\", \"mine\""));
    assert_non_null(strstr(err, "ERLANG_CLUSTER_SERVICE"));
    assert_int_equal(vcap_services_select_registry(&s, "other", err, sizeof err), -2);
    assert_non_null(strstr(err, "other"));
    vcap_services_free(&s);
}

static void no_registry_is_not_an_error(void **state)
{
    (void)state;
    struct vcap_services s;
    assert_int_equal(vcap_services_parse("{}", &s, err, sizeof err), 0);
    assert_int_equal(vcap_services_select_registry(&s, NULL, err, sizeof err), -1);
    assert_int_equal(vcap_services_select_registry(&s, "wanted", err, sizeof err), -2);
    assert_non_null(strstr(err, "wanted"));
    vcap_services_free(&s);
    assert_int_equal(vcap_services_parse("", &s, err, sizeof err), 0);
    assert_int_equal(s.registry_count, 0);
    vcap_services_free(&s);
}

static void credhub_references_are_accepted_at_staging(void **state)
{
    (void)state;
    struct vcap_services s;
    assert_int_equal(vcap_services_parse("{\"p.service-registry\":[{\"name\":\"r\",\"credentials\":"
                                         "{\"credhub-ref\":\"/c/r\"}}]}",
                                         &s, err, sizeof err),
                     0);
    assert_int_equal(s.registry_count, 1);
    assert_null(s.registries[0].binding.uri);
    vcap_services_free(&s);
}

static void reads_the_cookie_of_an_erlang_cluster_service(void **state)
{
    (void)state;
    struct vcap_services s;
    assert_int_equal(vcap_services_parse("{\"user-provided\":[{\"name\":\"ck\",\"tags\":"
                                         "[\"erlang-cluster\"],\"credentials\":{\"cookie\":"
                                         "\"Zm9vYmFy\"}}]}",
                                         &s, err, sizeof err),
                     0);
    assert_string_equal(s.cookie, "Zm9vYmFy");
    assert_string_equal(s.cookie_service, "ck");
    assert_int_equal(s.registry_count, 0);
    vcap_services_free(&s);
}

static void rejects_malformed_services_without_leaking_secrets(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"{\"user-provided\":", "not valid JSON"},
        {"[]", "JSON object"},
        {"{\"user-provided\":{}}", "must be an array"},
        {"{\"user-provided\":[7]}", "must be an object"},
        {"{\"p-service-registry\":[{\"name\":\"r\"}]}", "\"credentials\" must be an object"},
        {"{\"p-service-registry\":[{\"name\":\"r\",\"credentials\":{\"uri\":5}}]}",
         "\"uri\" must be a string"},
        {"{\"p-service-registry\":[{\"name\":\"r\",\"credentials\":{\"uri\":\"ftp://x\"}}]}",
         "http:// or https://"},
        {"{\"p-service-registry\":[{\"name\":\"r\",\"credentials\":{}}]}", "\"uri\""},
        {"{\"p-service-registry\":[{\"name\":\"r\",\"credentials\":{\"uri\":\"https://e\","
         "\"client_secret\":12345}}]}",
         "\"client_secret\" must be a string"},
        {"{\"p-service-registry\":[{\"name\":\"r\",\"credentials\":{\"uri\":\"https://e\","
         "\"client_id\":\"id\",\"client_secret\":\"TOPSECRET\"}}]}",
         "go together"},
        {"{\"p-service-registry\":[{\"name\":\"r\",\"credentials\":{\"uri\":\"https://e\","
         "\"client_id\":\"id\",\"client_secret\":\"TOPSECRET\",\"access_token_uri\":\"x\"}}]}",
         "access_token_uri"},
        {"{\"x\":[{\"name\":\"r\",\"tags\":\"eureka\"}]}", "\"tags\""},
        {"{\"user-provided\":[{\"name\":\"c\",\"tags\":[\"erlang-cluster\"],\"credentials\":"
         "{\"cookie\":123}}]}",
         "\"cookie\" must be a string"},
        {"{\"user-provided\":[{\"name\":\"c\",\"tags\":[\"erlang-cluster\"],\"credentials\":"
         "{\"cookie\":\"TOPSECRET with space\"}}]}",
         "\"cookie\" must be a string"},
        {"{\"user-provided\":[{\"name\":\"c1\",\"tags\":[\"erlang-cluster\"],\"credentials\":"
         "{\"cookie\":\"TOPSECRET\"}},{\"name\":\"c2\",\"tags\":[\"erlang-cluster\"],"
         "\"credentials\":{\"cookie\":\"TOPSECRET2\"}}]}",
         "\"c1\" and \"c2\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct vcap_services s;
        assert_int_equal(vcap_services_parse(bad[i][0], &s, err, sizeof err), -1);
        if (strstr(err, "VCAP_SERVICES") == NULL || strstr(err, bad[i][1]) == NULL)
            fail_msg("for %s: \"%s\"", bad[i][0], err);
        assert_null(strstr(err, "TOPSECRET"));
        assert_null(strstr(err, "12345"));
        assert_null(strchr(err, '\n'));
    }
}

static void a_registry_host_named_eureka_is_kept(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"http://eureka", "http://eureka"},
        {"https://eureka/", "https://eureka"},
        {"http://eureka/eureka/", "http://eureka"},
        {"http://eureka:8761/eureka", "http://eureka:8761"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"r\":[{\"name\":\"r\",\"tags\":[\"eureka\"],\"credentials\":{\"uri\":\"%s\"}}]}",
                 cases[i][0]);
        struct vcap_services s;
        assert_int_equal(vcap_services_parse(json, &s, err, sizeof err), 0);
        assert_string_equal(s.registries[0].binding.uri, cases[i][1]);
        vcap_services_free(&s);
    }
}

static void names_in_errors_are_shown_on_one_printable_line(void **state)
{
    (void)state;
    struct vcap_services s;
    assert_int_equal(vcap_services_parse("{\"bad\\nlabel\":{}}", &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "\"bad?label\" must be an array"));
    assert_int_equal(vcap_services_parse("{\"a\":[{\"name\":\"one\\u001b[2J\",\"tags\":[\"eureka\"],"
                                         "\"credentials\":{\"uri\":\"ftp://x\"}}]}",
                                         &s, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "\"one?[2J\""));
    assert_int_equal(vcap_services_parse("{}", &s, err, sizeof err), 0);
    assert_int_equal(vcap_services_select_registry(&s, "my\nregistry", err, sizeof err), -2);
    assert_non_null(strstr(err, "\"my?registry\""));
    assert_null(strchr(err, '\n'));
    vcap_services_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_the_application),
        cmocka_unit_test(rejects_malformed_applications),
        cmocka_unit_test(finds_registries_by_tag_or_label),
        cmocka_unit_test(no_registry_is_not_an_error),
        cmocka_unit_test(credhub_references_are_accepted_at_staging),
        cmocka_unit_test(reads_the_cookie_of_an_erlang_cluster_service),
        cmocka_unit_test(rejects_malformed_services_without_leaking_secrets),
        cmocka_unit_test(a_registry_host_named_eureka_is_kept),
        cmocka_unit_test(names_in_errors_are_shown_on_one_printable_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
