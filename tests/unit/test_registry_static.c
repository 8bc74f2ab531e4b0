/* The static back end: ERLANG_CLUSTER_PEERS as node names or IP addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "discovery/static.h"

/* The back end as the agent builds it: from the configuration and our own node name. */
static int make_static(const char *peers, struct registry_backend *reg, char *err, size_t errlen)
{
    struct config cfg = {.discovery = DISCOVERY_STATIC, .peers = (char *)peers,
                         .node_basename = (char *)"chat"};
    struct registry_runtime rt = {.node_name = "chat@10.0.0.1", .interrupt_fd = -1};
    return registry_new(&cfg, &rt, reg, err, errlen);
}

static void lists_names_and_turns_addresses_into_node_names(void **state)
{
    (void)state;
    struct registry_backend reg = {0};
    char err[256];
    assert_int_equal(make_static("chat@10.0.0.2, 10.0.0.3,chat@10.0.0.1,10.0.0.2", &reg, err,
                                 sizeof err),
                     0);
    assert_string_equal(reg.name, "static");
    assert_false(reg.has_lease);
    struct strlist peers = {0};
    assert_int_equal(reg.discover(reg.state, 0, &peers, err, sizeof err), REGISTRY_OK);
    assert_int_equal(peers.len, 2);
    assert_string_equal(peers.items[0], "chat@10.0.0.2");
    assert_string_equal(peers.items[1], "chat@10.0.0.3");
    assert_int_equal(reg.deregister(reg.state, 0, 100, err, sizeof err), REGISTRY_OK);
    strlist_clear(&peers);
    reg.destroy(reg.state);
}

static void a_bad_entry_is_an_error_naming_the_variable(void **state)
{
    (void)state;
    const char *bad[] = {"chat@10.0.0.2,not a node", "chat@", "x@y@z", "300.1.1.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct registry_backend reg = {0};
        char err[256] = "";
        assert_int_equal(make_static(bad[i], &reg, err, sizeof err), -1);
        assert_non_null(strstr(err, "ERLANG_CLUSTER_PEERS"));
        assert_null(reg.state);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lists_names_and_turns_addresses_into_node_names),
        cmocka_unit_test(a_bad_entry_is_an_error_naming_the_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
