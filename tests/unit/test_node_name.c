/* Node name validation: what may reach Erlang as a peer's name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/node_name.h"

static void accepts_long_names_with_ip_or_dns_hosts(void **state)
{
    (void)state;
    static const char *const good[] = {
        "app@10.255.0.17", "my-app_1@192.168.1.1", "a@::1", "node@fd00::10:0:0:5",
        "web@my-app.apps.internal", "x@localhost", "N0de@host-1.example.com",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(node_name_valid(good[i]));
}

static void rejects_malformed_names(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "app", "@10.0.0.1", "app@", "a@b@10.0.0.1", "a b@10.0.0.1", "a@10.0.0.1 ",
        "'a'@10.0.0.1", "a\"@10.0.0.1", "a@host\n", "a\t@host", "a.b@10.0.0.1",
        "a@300.1.1.1", "a@10.0.0", "a@-host.example", "a@host-.example", "a@host..example",
        "a@host.", "a@.host", "a@ho_st", "a@[::1]", "a@fe80::1%eth0", "a@ho'st",
        "a@host;rm", "ä@host",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (node_name_valid(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_false(node_name_valid(NULL));
}

static void enforces_length_limits(void **state)
{
    (void)state;
    char name[400];
    memset(name, 'a', 64);
    strcpy(name + 64, "@10.0.0.1");
    assert_true(node_name_valid(name));
    memset(name, 'a', 65);
    strcpy(name + 65, "@10.0.0.1");
    assert_false(node_name_valid(name));

    /* A 63-character label is fine, 64 is not. */
    strcpy(name, "a@");
    memset(name + 2, 'h', 63);
    strcpy(name + 65, ".example");
    assert_true(node_name_valid(name));
    strcpy(name, "a@");
    memset(name + 2, 'h', 64);
    strcpy(name + 66, ".example");
    assert_false(node_name_valid(name));

    /* Whole name over 255 bytes, each label fine. */
    strcpy(name, "base@");
    for (int i = 0; i < 5; i++)
        strcat(name, "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh.");
    strcat(name, "example");
    assert_true(strlen(name) > 255);
    assert_false(node_name_valid(name));
}

static void validates_basenames(void **state)
{
    (void)state;
    assert_true(node_basename_valid("my-app_2"));
    assert_true(node_basename_valid("A"));
    assert_false(node_basename_valid(""));
    assert_false(node_basename_valid(NULL));
    assert_false(node_basename_valid("my.app"));
    assert_false(node_basename_valid("my app"));
    assert_false(node_basename_valid("a@b"));
    char base[70];
    memset(base, 'b', 64);
    base[64] = '\0';
    assert_true(node_basename_valid(base));
    base[64] = 'b';
    base[65] = '\0';
    assert_false(node_basename_valid(base));
}

static void tells_ip_literals_from_dns_names(void **state)
{
    (void)state;
    assert_true(ip_literal_valid("10.0.0.1"));
    assert_true(ip_literal_valid("2001:db8::1"));
    assert_false(ip_literal_valid("10.0.0.1.5"));
    assert_false(ip_literal_valid("my-app.apps.internal"));
    assert_false(ip_literal_valid(""));
    assert_true(dns_name_valid("my-app.apps.internal"));
    assert_false(dns_name_valid("10.0.0.1"));
    assert_false(dns_name_valid("my_app.apps.internal"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_long_names_with_ip_or_dns_hosts),
        cmocka_unit_test(rejects_malformed_names),
        cmocka_unit_test(enforces_length_limits),
        cmocka_unit_test(validates_basenames),
        cmocka_unit_test(tells_ip_literals_from_dns_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
