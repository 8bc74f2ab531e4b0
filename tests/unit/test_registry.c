/* registry_new: the back end each discovery mode names, built from the configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "discovery/registry.h"

static struct log_sink QUIET = {.level = LOG_LEVEL_ERROR, .program = "test"};

static struct config eureka_config(void)
{
    return (struct config){
        .discovery = DISCOVERY_EUREKA,
        .cluster_name = (char *)"chat",
        .node_basename = (char *)"chat",
        .instance_ip = (char *)"10.0.0.1",
        .instance_guid = (char *)"guid-1",
        .instance_index = 0,
        .dist_port = 9001,
        .heartbeat_interval = 30,
        .has_registry = true,
        .registry = {.binding_name = (char *)"registry", .uri = (char *)"https://eureka.example"},
    };
}

static void none_finds_nobody_and_holds_no_lease(void **state)
{
    (void)state;
    struct config cfg = {.discovery = DISCOVERY_NONE, .peers = (char *)"chat@10.0.0.2"};
    struct registry_runtime rt = {.node_name = "chat@10.0.0.1", .interrupt_fd = -1,
                                  .log = &QUIET};
    struct registry_backend reg = {0};
    char err[256] = "";
    assert_int_equal(registry_new(&cfg, &rt, &reg, err, sizeof err), 0);
    assert_string_equal(reg.name, "none");
    assert_false(reg.has_lease);
    assert_null(reg.instance_id);
    struct strlist peers = {0};
    assert_int_equal(reg.discover(reg.state, 0, &peers, err, sizeof err), REGISTRY_OK);
    assert_int_equal(peers.len, 0);
    assert_int_equal(reg.deregister(reg.state, 0, 100, err, sizeof err), REGISTRY_OK);
    reg.destroy(reg.state);
}

static void eureka_is_built_from_the_binding_and_names_its_instance_id(void **state)
{
    (void)state;
    struct config cfg = eureka_config();
    struct registry_runtime rt = {.node_name = "chat@10.0.0.1", .interrupt_fd = -1,
                                  .log = &QUIET};
    struct registry_backend reg = {0};
    char err[512] = "";
    if (registry_new(&cfg, &rt, &reg, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(reg.name, "eureka");
    assert_true(reg.has_lease);
    assert_string_equal(reg.instance_id, "10.0.0.1:guid-1");
    reg.destroy(reg.state);
}

static void eureka_without_what_it_needs_is_an_error_naming_it(void **state)
{
    (void)state;
    struct registry_runtime rt = {.node_name = "chat@10.0.0.1", .interrupt_fd = -1,
                                  .log = &QUIET};
    struct {
        struct config cfg;
        const char *needle;
    } cases[3];
    cases[0].cfg = eureka_config();
    cases[0].cfg.registry.uri = NULL;
    cases[0].needle = "registry binding \"registry\" has no uri";
    cases[1].cfg = eureka_config();
    cases[1].cfg.instance_guid = NULL;
    cases[1].needle = "INSTANCE_GUID";
    cases[2].cfg = eureka_config();
    cases[2].cfg.registry.client_id = (char *)"id";
    cases[2].needle = "client_id but no access_token_uri";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct registry_backend reg = {0};
        char err[512] = "";
        assert_int_equal(registry_new(&cases[i].cfg, &rt, &reg, err, sizeof err), -1);
        if (!strstr(err, cases[i].needle))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].needle);
        assert_null(reg.state);
    }
}

int main(void)
{
    QUIET.stream = stderr;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(none_finds_nobody_and_holds_no_lease),
        cmocka_unit_test(eureka_is_built_from_the_binding_and_names_its_instance_id),
        cmocka_unit_test(eureka_without_what_it_needs_is_an_error_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
