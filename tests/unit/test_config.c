/* Configuration resolution: precedence, defaults, derived values and every invalid value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/fsutil.h"

static const char MANIFEST_PLAIN[] = "language: erlang_cluster\nversion: 9.8.7\n";

struct fixture {
    char dir[64];
    char manifest[128];
    char staged[128];
    char err[1024];
    struct config cfg;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    strcpy(fx->dir, "/tmp/test_config.XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    snprintf(fx->manifest, sizeof fx->manifest, "%s/manifest.yml", fx->dir);
    snprintf(fx->staged, sizeof fx->staged, "%s/config.yml", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    config_free(&fx->cfg);
    unlink(fx->manifest);
    unlink(fx->staged);
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

/* Resolves at staging against a manifest with the given text. */
static int stage(struct fixture *fx, const char *manifest_text, char *const *env)
{
    config_free(&fx->cfg);
    write_text(fx->manifest, manifest_text);
    struct config_inputs in = {.env = env, .manifest_path = fx->manifest};
    fx->err[0] = '\0';
    return config_resolve(&in, &fx->cfg, fx->err, sizeof fx->err);
}

static int run_time(struct fixture *fx, char *const *env)
{
    config_free(&fx->cfg);
    struct config_inputs in = {.env = env, .staged_config_path = fx->staged};
    fx->err[0] = '\0';
    return config_resolve(&in, &fx->cfg, fx->err, sizeof fx->err);
}

static void expect_error(struct fixture *fx, const char *manifest_text, char *const *env,
                         const char *needle1, const char *needle2)
{
    if (stage(fx, manifest_text, env) == 0)
        fail_msg("accepted input that should fail (expected \"%s\")", needle1);
    if (strstr(fx->err, needle1) == NULL || (needle2 != NULL && strstr(fx->err, needle2) == NULL))
        fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", fx->err, needle1,
                 needle2 != NULL ? needle2 : "");
    assert_null(strchr(fx->err, '\n'));
}

static void uses_builtin_defaults_without_any_input(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env), 0);
    assert_false(fx->cfg.disabled);
    assert_int_equal(fx->cfg.dist_port, 9001);
    assert_false(fx->cfg.epmd);
    assert_int_equal(fx->cfg.poll_interval, 60);
    assert_int_equal(fx->cfg.heartbeat_interval, 30);
    assert_int_equal(fx->cfg.net_ticktime, 60);
    assert_string_equal(fx->cfg.process_types, "web");
    assert_int_equal(fx->cfg.log_level, LOG_LEVEL_INFO);
    assert_int_equal(fx->cfg.start_style, START_STYLE_AUTO);
    assert_int_equal(fx->cfg.discovery, DISCOVERY_NONE);
    assert_non_null(fx->cfg.discovery_reason);
    assert_null(fx->cfg.cookie);
    assert_string_equal(fx->cfg.buildpack_version, "9.8.7");
    assert_string_equal(fx->cfg.buildpack_name, "erlang_cluster");
    assert_int_equal(fx->cfg.source[FIELD_DIST_PORT], SOURCE_BUILTIN);
    assert_non_null(fx->cfg.app_uris);
    assert_null(fx->cfg.app_uris[0]);
}

static void manifest_defaults_beat_builtins_and_env_beats_both(void **state)
{
    struct fixture *fx = *state;
    const char *manifest = "language: erlang_cluster\nversion: 1.0.0\ndefaults:\n"
                           "  ERLANG_CLUSTER_DIST_PORT: 9100\n"
                           "  ERLANG_CLUSTER_POLL_INTERVAL: '7'\n";
    char *env1[] = {NULL};
    assert_int_equal(stage(fx, manifest, env1), 0);
    assert_int_equal(fx->cfg.dist_port, 9100);
    assert_int_equal(fx->cfg.source[FIELD_DIST_PORT], SOURCE_MANIFEST);
    assert_int_equal(fx->cfg.poll_interval, 7);

    char *env2[] = {"ERLANG_CLUSTER_DIST_PORT=9200", NULL};
    assert_int_equal(stage(fx, manifest, env2), 0);
    assert_int_equal(fx->cfg.dist_port, 9200);
    assert_int_equal(fx->cfg.source[FIELD_DIST_PORT], SOURCE_ENV);
    assert_int_equal(fx->cfg.poll_interval, 7);
    assert_string_equal(fx->cfg.env_values[FIELD_DIST_PORT], "9200");
    assert_string_equal(fx->cfg.default_values[FIELD_DIST_PORT], "9100");
}

static void empty_variables_count_as_unset_and_values_are_trimmed(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {"ERLANG_CLUSTER_DIST_PORT=", "ERLANG_CLUSTER_NET_TICKTIME= 20 ", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env), 0);
    assert_int_equal(fx->cfg.dist_port, 9001);
    assert_int_equal(fx->cfg.net_ticktime, 20);
    assert_null(fx->cfg.env_values[FIELD_DIST_PORT]);
}

static void run_time_env_beats_staged_env_beats_defaults(void **state)
{
    struct fixture *fx = *state;
    const char *manifest = "language: erlang_cluster\nversion: 2.0.0\ndefaults:\n"
                           "  ERLANG_CLUSTER_NET_TICKTIME: 30\n"
                           "  ERLANG_CLUSTER_POLL_INTERVAL: 9\n";
    char *staging_env[] = {"ERLANG_CLUSTER_DIST_PORT=9300", "ERLANG_CLUSTER_POLL_INTERVAL=11",
                           "ERLANG_CLUSTER_COOKIE=stagingSecretCookie", NULL};
    assert_int_equal(stage(fx, manifest, staging_env), 0);
    char err[256];
    assert_int_equal(config_write_staged(&fx->cfg, fx->staged, err, sizeof err), 0);

    char *file = NULL;
    assert_int_equal(fs_read_file(fx->staged, 65536, &file, NULL, err, sizeof err), 0);
    assert_null(strstr(file, "stagingSecretCookie"));
    assert_null(strstr(file, "ERLANG_CLUSTER_COOKIE"));
    free(file);

    char *runtime_env[] = {"ERLANG_CLUSTER_POLL_INTERVAL=13", NULL};
    assert_int_equal(run_time(fx, runtime_env), 0);
    assert_int_equal(fx->cfg.poll_interval, 13);
    assert_int_equal(fx->cfg.source[FIELD_POLL_INTERVAL], SOURCE_ENV);
    assert_int_equal(fx->cfg.dist_port, 9300);
    assert_int_equal(fx->cfg.source[FIELD_DIST_PORT], SOURCE_STAGING_ENV);
    assert_int_equal(fx->cfg.net_ticktime, 30);
    assert_int_equal(fx->cfg.source[FIELD_NET_TICKTIME], SOURCE_MANIFEST);
    assert_int_equal(fx->cfg.heartbeat_interval, 30);
    assert_int_equal(fx->cfg.source[FIELD_HEARTBEAT_INTERVAL], SOURCE_BUILTIN);
    assert_string_equal(fx->cfg.buildpack_version, "2.0.0");
    assert_null(fx->cfg.cookie); /* the staging cookie lives only in the cookie file */
}

static void staged_invalid_value_names_the_config_file(void **state)
{
    struct fixture *fx = *state;
    write_text(fx->staged, "name: erlang_cluster\nversion: '1'\nconfig:\n  env:\n"
                           "    ERLANG_CLUSTER_DIST_PORT: nope\n");
    char *env[] = {NULL};
    assert_int_equal(run_time(fx, env), -1);
    assert_non_null(strstr(fx->err, "ERLANG_CLUSTER_DIST_PORT"));
    assert_non_null(strstr(fx->err, fx->staged));
}

static void missing_staged_config_is_an_error_naming_it(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {NULL};
    assert_int_equal(run_time(fx, env), -1);
    assert_non_null(strstr(fx->err, fx->staged));
}

static void cookie_comes_from_env_before_service(void **state)
{
    struct fixture *fx = *state;
    char *env1[] = {"VCAP_SERVICES={\"user-provided\":[{\"name\":\"secrets\",\"tags\":"
                    "[\"erlang-cluster\"],\"credentials\":{\"cookie\":\"fromService\"}}]}",
                    NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env1), 0);
    assert_string_equal(fx->cfg.cookie, "fromService");
    assert_int_equal(fx->cfg.source[FIELD_COOKIE], SOURCE_SERVICE);
    assert_string_equal(fx->cfg.cookie_service, "secrets");

    char *env2[] = {"ERLANG_CLUSTER_COOKIE=fromEnv", env1[0], NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env2), 0);
    assert_string_equal(fx->cfg.cookie, "fromEnv");
    assert_int_equal(fx->cfg.source[FIELD_COOKIE], SOURCE_ENV);
    assert_null(fx->cfg.env_values[FIELD_COOKIE]);
}

static void invalid_cookie_is_rejected_without_showing_it(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {"ERLANG_CLUSTER_COOKIE=has space secret", NULL};
    expect_error(fx, MANIFEST_PLAIN, env, "ERLANG_CLUSTER_COOKIE", "printable");
    assert_null(strstr(fx->err, "secret"));
}

static void cluster_name_and_basename_derive_from_the_app_name(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {"VCAP_APPLICATION={\"application_name\":\"My App_v2.prod\"}", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env), 0);
    assert_string_equal(fx->cfg.app_name, "My App_v2.prod");
    assert_string_equal(fx->cfg.cluster_name, "My-App-v2.prod");
    assert_string_equal(fx->cfg.node_basename, "My-App-v2-prod");
    assert_int_equal(fx->cfg.source[FIELD_NAME], SOURCE_APP);

    char *env2[] = {env[0], "ERLANG_CLUSTER_NAME=shared", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env2), 0);
    assert_string_equal(fx->cfg.cluster_name, "shared");
    assert_string_equal(fx->cfg.node_basename, "shared");

    char *env3[] = {env[0], "ERLANG_CLUSTER_NODE_BASENAME=worker_1", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env3), 0);
    assert_string_equal(fx->cfg.node_basename, "worker_1");
    assert_int_equal(fx->cfg.source[FIELD_NODE_BASENAME], SOURCE_ENV);
}

static void long_app_names_give_a_valid_basename(void **state)
{
    struct fixture *fx = *state;
    char app[300] = "VCAP_APPLICATION={\"application_name\":\"";
    size_t len = strlen(app);
    memset(app + len, 'x', 150);
    strcpy(app + len + 150, "\"}");
    char *env[] = {app, NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env), 0);
    assert_int_equal(strlen(fx->cfg.node_basename), 64);
    assert_int_equal(strlen(fx->cfg.cluster_name), 128);
}

static const char REGISTRY[] =
    "VCAP_SERVICES={\"p.service-registry\":[{\"name\":\"registry\",\"label\":"
    "\"p.service-registry\",\"tags\":[\"eureka\"],\"credentials\":{\"uri\":"
    "\"https://eureka.example.com/\",\"client_id\":\"id\",\"client_secret\":\"s3cr3t\","
    "\"access_token_uri\":\"https://uaa.example.com/oauth/token\"}}]}";

static void auto_discovery_prefers_a_bound_registry(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {(char *)REGISTRY, "ERLANG_CLUSTER_PEERS=a@10.0.0.1",
                   "VCAP_APPLICATION={\"name\":\"app\",\"uris\":[\"app.apps.internal\"]}", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env), 0);
    assert_int_equal(fx->cfg.discovery, DISCOVERY_EUREKA);
    assert_true(fx->cfg.has_registry);
    assert_string_equal(fx->cfg.registry.uri, "https://eureka.example.com");
    assert_string_equal(fx->cfg.registry.client_secret, "s3cr3t");
    assert_non_null(strstr(fx->cfg.discovery_reason, "registry"));
}

static void auto_discovery_uses_dns_for_a_query_or_an_internal_route(void **state)
{
    struct fixture *fx = *state;
    char *env1[] = {"ERLANG_CLUSTER_DNS_QUERY=peers.apps.internal",
                    "ERLANG_CLUSTER_PEERS=a@10.0.0.1", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env1), 0);
    assert_int_equal(fx->cfg.discovery, DISCOVERY_DNS);
    assert_string_equal(fx->cfg.dns_query, "peers.apps.internal");
    assert_non_null(strstr(fx->cfg.discovery_reason, "ERLANG_CLUSTER_DNS_QUERY"));

    char *env2[] = {"VCAP_APPLICATION={\"application_name\":\"app\",\"application_uris\":"
                    "[\"app.example.com\",\"App-Int.apps.internal\"]}",
                    "ERLANG_CLUSTER_PEERS=a@10.0.0.1", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env2), 0);
    assert_int_equal(fx->cfg.discovery, DISCOVERY_DNS);
    assert_string_equal(fx->cfg.dns_query, "App-Int.apps.internal");
    assert_int_equal(fx->cfg.source[FIELD_DNS_QUERY], SOURCE_APP);
    assert_non_null(strstr(fx->cfg.discovery_reason, "App-Int.apps.internal"));
}

static void auto_discovery_falls_back_to_static_then_none(void **state)
{
    struct fixture *fx = *state;
    char *env1[] = {"ERLANG_CLUSTER_PEERS= a@10.0.0.1 , 10.0.0.2,b@host.example", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env1), 0);
    assert_int_equal(fx->cfg.discovery, DISCOVERY_STATIC);
    assert_string_equal(fx->cfg.peers, "a@10.0.0.1,10.0.0.2,b@host.example");

    char *env2[] = {"VCAP_APPLICATION={\"application_name\":\"app\",\"application_uris\":"
                    "[\"app.example.com\"]}",
                    NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env2), 0);
    assert_int_equal(fx->cfg.discovery, DISCOVERY_NONE);
}

static void explicit_discovery_modes_need_their_input(void **state)
{
    struct fixture *fx = *state;
    char *e1[] = {"ERLANG_CLUSTER_DISCOVERY=eureka", NULL};
    expect_error(fx, MANIFEST_PLAIN, e1, "ERLANG_CLUSTER_DISCOVERY", "no Eureka registry");
    char *e2[] = {"ERLANG_CLUSTER_DISCOVERY=dns", NULL};
    expect_error(fx, MANIFEST_PLAIN, e2, "ERLANG_CLUSTER_DISCOVERY", "ERLANG_CLUSTER_DNS_QUERY");
    char *e3[] = {"ERLANG_CLUSTER_DISCOVERY=static", NULL};
    expect_error(fx, MANIFEST_PLAIN, e3, "ERLANG_CLUSTER_DISCOVERY", "ERLANG_CLUSTER_PEERS");

    char *ok[] = {"ERLANG_CLUSTER_DISCOVERY=NONE", (char *)REGISTRY, NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, ok), 0);
    assert_int_equal(fx->cfg.discovery, DISCOVERY_NONE);
    assert_int_equal(fx->cfg.source[FIELD_DISCOVERY], SOURCE_ENV);

    char *forced_dns[] = {"ERLANG_CLUSTER_DISCOVERY=dns", (char *)REGISTRY,
                          "VCAP_APPLICATION={\"uris\":[\"x.apps.internal\"]}", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, forced_dns), 0);
    assert_int_equal(fx->cfg.discovery, DISCOVERY_DNS);
    assert_string_equal(fx->cfg.dns_query, "x.apps.internal");
}

static void two_registries_need_a_choice(void **state)
{
    struct fixture *fx = *state;
    const char *two = "VCAP_SERVICES={\"p-service-registry\":[{\"name\":\"reg-a\",\"credentials\":"
                      "{\"uri\":\"https://a.example.com\"}}],\"user-provided\":[{\"name\":"
                      "\"reg-b\",\"tags\":[\"eureka\"],\"credentials\":{\"uri\":"
                      "\"http://b.example.com/eureka/\"}}]}";
    char *env1[] = {(char *)two, NULL};
    expect_error(fx, MANIFEST_PLAIN, env1, "reg-a", "reg-b");
    assert_non_null(strstr(fx->err, "ERLANG_CLUSTER_SERVICE"));

    char *env2[] = {(char *)two, "ERLANG_CLUSTER_SERVICE=reg-b", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env2), 0);
    assert_string_equal(fx->cfg.registry.binding_name, "reg-b");
    assert_string_equal(fx->cfg.registry.uri, "http://b.example.com");
    assert_null(fx->cfg.registry.client_id);

    char *env3[] = {(char *)two, "ERLANG_CLUSTER_SERVICE=reg-c", NULL};
    expect_error(fx, MANIFEST_PLAIN, env3, "ERLANG_CLUSTER_SERVICE", "reg-c");
}

struct invalid_case {
    const char *assignment;
    const char *needle;
};

static void every_invalid_value_fails_with_one_line_naming_the_variable(void **state)
{
    struct fixture *fx = *state;
    static const struct invalid_case cases[] = {
        {"ERLANG_CLUSTER_DIST_PORT=abc", "1024 to 65535"},
        {"ERLANG_CLUSTER_DIST_PORT=80", "out of range"},
        {"ERLANG_CLUSTER_DIST_PORT=70000", "out of range"},
        {"ERLANG_CLUSTER_DIST_PORT=9001x", "not a number"},
        {"ERLANG_CLUSTER_DIST_PORT=99999999999999999999", "out of range"},
        {"ERLANG_CLUSTER_DIST_PORT=-5", "out of range"},
        {"ERLANG_CLUSTER_EPMD=maybe", "true or false"},
        {"ERLANG_CLUSTER_DISABLE=sometimes", "true or false"},
        {"ERLANG_CLUSTER_DISCOVERY=gossip", "auto, eureka, dns, static or none"},
        {"ERLANG_CLUSTER_POLL_INTERVAL=0", "1 to 600"},
        {"ERLANG_CLUSTER_POLL_INTERVAL=601", "1 to 600"},
        {"ERLANG_CLUSTER_HEARTBEAT_INTERVAL=61", "1 to 60"},
        {"ERLANG_CLUSTER_HEARTBEAT_INTERVAL=5s", "not a number"},
        {"ERLANG_CLUSTER_NET_TICKTIME=3", "4 to 3600"},
        {"ERLANG_CLUSTER_LOG_LEVEL=verbose", "error, warn, info or debug"},
        {"ERLANG_CLUSTER_PROCESS_TYPES=web,,worker", "empty entry"},
        {"ERLANG_CLUSTER_PROCESS_TYPES=we b", "process type"},
        {"ERLANG_CLUSTER_PEERS=a@b@10.0.0.1", "node name"},
        {"ERLANG_CLUSTER_PEERS=a@10.0.0.1,", "empty entry"},
        {"ERLANG_CLUSTER_PEERS=a@10.0.0.1;rm -rf", "node name"},
        {"ERLANG_CLUSTER_NODE_BASENAME=my.node", "1 to 64"},
        {"ERLANG_CLUSTER_NAME=my app", "letters, digits, dots and dashes"},
        {"ERLANG_CLUSTER_DNS_QUERY=not_a_host!", "DNS name"},
        {"ERLANG_CLUSTER_START_STYLE=docker", "erl, mix-release or relx"},
        {"ERLANG_CLUSTER_TLS=on-please", "use false, true or auto"},
        {"ERLANG_CLUSTER_TLS_CA_FILE=certs/ca.pem", "not an absolute path"},
        {"ERLANG_CLUSTER_TLS_CA_FILE=/certs/\xc3\xa9.pem", "printable ASCII"},
        {"ERLANG_CLUSTER_TLS_ALLOW=my-other-app", "app GUIDs (cf app NAME --guid)"},
        {"ERLANG_CLUSTER_TLS_ALLOW=0b0c2a4e-2f9e-4f55-9d6a-3a0c7f3e1c2", "an app GUID or the word space"},
        {"ERLANG_CLUSTER_TLS_ALLOW=space,,", "empty entry"},
        {"ERLANG_CLUSTER_PEER_NETWORK=10.255.1.0/16", "not a network in CIDR notation with no host bits set"},
        {"ERLANG_CLUSTER_PEER_NETWORK=overlay", "like 10.255.0.0/16,fd00::/8"},
        {"ERLANG_CLUSTER_PEER_NETWORK=10.255.0.0/16,,", "empty entry"},
        {"ERLANG_CLUSTER_PEER_NETWORK=10.0.0.0/33", "\"10.0.0.0/33\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *env[] = {(char *)cases[i].assignment, NULL};
        char variable[64];
        snprintf(variable, sizeof variable, "%.*s",
                 (int)strcspn(cases[i].assignment, "="), cases[i].assignment);
        expect_error(fx, MANIFEST_PLAIN, env, variable, cases[i].needle);
    }
}

static void epmd_mode_refuses_the_epmd_port(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {"ERLANG_CLUSTER_EPMD=yes", "ERLANG_CLUSTER_DIST_PORT=4369", NULL};
    expect_error(fx, MANIFEST_PLAIN, env, "ERLANG_CLUSTER_DIST_PORT", "epmd");
}

static void booleans_accept_the_usual_spellings(void **state)
{
    struct fixture *fx = *state;
    static const char *const truthy[] = {"true", "TRUE", "1", "yes", "Yes"};
    static const char *const falsy[] = {"false", "0", "no", "NO"};
    char assignment[64];
    char *env[] = {assignment, NULL};
    for (size_t i = 0; i < 5; i++) {
        snprintf(assignment, sizeof assignment, "ERLANG_CLUSTER_EPMD=%s", truthy[i]);
        assert_int_equal(stage(fx, MANIFEST_PLAIN, env), 0);
        assert_true(fx->cfg.epmd);
    }
    for (size_t i = 0; i < 4; i++) {
        snprintf(assignment, sizeof assignment, "ERLANG_CLUSTER_EPMD=%s", falsy[i]);
        assert_int_equal(stage(fx, MANIFEST_PLAIN, env), 0);
        assert_false(fx->cfg.epmd);
    }
}

static void disabled_stops_before_anything_else_is_checked(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {"ERLANG_CLUSTER_DISABLE=true", "ERLANG_CLUSTER_DIST_PORT=bad",
                   "VCAP_SERVICES=not json", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env), 0);
    assert_true(fx->cfg.disabled);
    assert_string_equal(fx->cfg.buildpack_version, "9.8.7");
}

static void manifest_problems_name_the_file(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {NULL};
    expect_error(fx, "defaults:\n  ERLANG_CLUSTER_DIST_PORT: [1, 2]\n", env, fx->manifest,
                 "ERLANG_CLUSTER_DIST_PORT");
    expect_error(fx, "defaults:\n  ERLANG_CLUSTER_DIST_PORT: zero\n", env, fx->manifest,
                 "1024 to 65535");
    expect_error(fx, "defaults:\n  ERLANG_CLUSTER_TYPO: 1\n", env, fx->manifest,
                 "ERLANG_CLUSTER_TYPO");
    expect_error(fx, "defaults:\n  ERLANG_CLUSTER_COOKIE: shared\n", env, fx->manifest,
                 "never be stored");
    assert_null(strstr(fx->err, "shared"));
    expect_error(fx, "defaults: [\n", env, fx->manifest, "not valid YAML");
    expect_error(fx, "- just\n- a list\n", env, fx->manifest, "mapping");

    config_free(&fx->cfg);
    struct config_inputs in = {.env = env, .manifest_path = "/nonexistent/manifest.yml"};
    assert_int_equal(config_resolve(&in, &fx->cfg, fx->err, sizeof fx->err), -1);
    assert_non_null(strstr(fx->err, "/nonexistent/manifest.yml"));
    assert_non_null(strstr(fx->err, "No such file"));
}

static void instance_fields_are_read_and_checked(void **state)
{
    struct fixture *fx = *state;
    char *env[] = {"CF_INSTANCE_INTERNAL_IP=10.255.1.2", "INSTANCE_GUID=abc-123",
                   "CF_INSTANCE_INDEX=3",
                   "VCAP_APPLICATION={\"application_id\":\"id-1\",\"process_type\":\"worker\"}",
                   NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env), 0);
    assert_string_equal(fx->cfg.instance_ip, "10.255.1.2");
    assert_string_equal(fx->cfg.instance_guid, "abc-123");
    assert_int_equal(fx->cfg.instance_index, 3);
    assert_string_equal(fx->cfg.app_id, "id-1");
    assert_string_equal(fx->cfg.process_type, "worker");

    char *bad[] = {"CF_INSTANCE_INTERNAL_IP=10.0.0.999", NULL};
    expect_error(fx, MANIFEST_PLAIN, bad, "CF_INSTANCE_INTERNAL_IP", "IP address");
}

static void dns_servers_take_addresses_with_optional_ports(void **state)
{
    struct fixture *fx = *state;
    char *unset[] = {"ERLANG_CLUSTER_DNS_QUERY=chat.apps.internal", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, unset), 0);
    assert_null(fx->cfg.dns_servers); /* the container's /etc/resolv.conf */

    char *env[] = {"ERLANG_CLUSTER_DNS_QUERY=chat.apps.internal",
                   "ERLANG_CLUSTER_DNS_SERVERS= 10.0.0.2, 127.0.0.53:5353,[fd00::2]:53 ,"
                   "[fd00::3],fd00::4",
                   NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, env), 0);
    /* c-ares's server-list form: brackets only around an IPv6 address with a port. */
    assert_string_equal(fx->cfg.dns_servers,
                        "10.0.0.2,127.0.0.53:5353,[fd00::2]:53,fd00::3,fd00::4");
    assert_int_equal(fx->cfg.source[FIELD_DNS_SERVERS], SOURCE_ENV);

    /* Set at staging, it reaches the agent through config.yml. */
    assert_int_equal(config_write_staged(&fx->cfg, fx->staged, fx->err, sizeof fx->err), 0);
    char *run_env[] = {NULL};
    assert_int_equal(run_time(fx, run_env), 0);
    assert_string_equal(fx->cfg.dns_servers,
                        "10.0.0.2,127.0.0.53:5353,[fd00::2]:53,fd00::3,fd00::4");
    assert_int_equal(fx->cfg.source[FIELD_DNS_SERVERS], SOURCE_STAGING_ENV);
}

static void dns_servers_refuse_names_bad_ports_and_bad_brackets(void **state)
{
    struct fixture *fx = *state;
    static const char *const bad[] = {
        "ERLANG_CLUSTER_DNS_SERVERS=dns.example.com",
        "ERLANG_CLUSTER_DNS_SERVERS=10.0.0.2:0",
        "ERLANG_CLUSTER_DNS_SERVERS=10.0.0.2:65536",
        "ERLANG_CLUSTER_DNS_SERVERS=10.0.0.2:53x",
        "ERLANG_CLUSTER_DNS_SERVERS=10.0.0.2:",
        "ERLANG_CLUSTER_DNS_SERVERS=[10.0.0.2]:53",
        "ERLANG_CLUSTER_DNS_SERVERS=[fd00::2:53",
        "ERLANG_CLUSTER_DNS_SERVERS=[fd00::2]53",
        "ERLANG_CLUSTER_DNS_SERVERS=10.0.0.2,,10.0.0.3",
        "ERLANG_CLUSTER_DNS_SERVERS=10.0.0.2;10.0.0.3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *env[] = {(char *)bad[i], NULL};
        expect_error(fx, MANIFEST_PLAIN, env, "ERLANG_CLUSTER_DNS_SERVERS",
                     "with an optional port");
    }
}

static void the_peer_network_is_unset_by_default_and_kept_as_written(void **state)
{
    struct fixture *fx = *state;
    char *none[] = {NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, none), 0);
    assert_null(fx->cfg.peer_network); /* peer_bounds.c then takes the private ranges */
    char *set[] = {"ERLANG_CLUSTER_PEER_NETWORK= 10.255.0.0/16 , fd00::/8", NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, set), 0);
    assert_string_equal(fx->cfg.peer_network, "10.255.0.0/16,fd00::/8");
    assert_int_equal(fx->cfg.source[FIELD_PEER_NETWORK], SOURCE_ENV);
}

static void tls_settings_resolve_with_their_defaults(void **state)
{
    struct fixture *fx = *state;
    char *none[] = {NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, none), 0);
    assert_int_equal(fx->cfg.tls, CLUSTER_TLS_OFF); /* default false in this release */
    assert_int_equal(fx->cfg.source[FIELD_TLS], SOURCE_BUILTIN);
    assert_null(fx->cfg.tls_ca_file);
    assert_null(fx->cfg.tls_allow);

    static const struct { const char *value; enum cluster_tls mode; } modes[] = {
        {"true", CLUSTER_TLS_ON}, {"YES", CLUSTER_TLS_ON}, {"auto", CLUSTER_TLS_AUTO},
        {"Auto", CLUSTER_TLS_AUTO}, {"false", CLUSTER_TLS_OFF}, {"0", CLUSTER_TLS_OFF},
    };
    char assignment[64];
    char *env[] = {assignment, NULL};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        snprintf(assignment, sizeof assignment, "ERLANG_CLUSTER_TLS=%s", modes[i].value);
        assert_int_equal(stage(fx, MANIFEST_PLAIN, env), 0);
        assert_int_equal(fx->cfg.tls, modes[i].mode);
        assert_int_equal(fx->cfg.source[FIELD_TLS], SOURCE_ENV);
    }

    char *full[] = {"ERLANG_CLUSTER_TLS=true", "ERLANG_CLUSTER_TLS_CA_FILE=/etc/ssl/peers.pem",
                    "ERLANG_CLUSTER_TLS_ALLOW= 0B0C2A4E-2F9E-4F55-9D6A-3A0C7F3E1C2D , Space",
                    "VCAP_APPLICATION={\"space_id\":\"5b7e1c8a-1111-4222-8333-944455556666\"}",
                    NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, full), 0);
    assert_string_equal(fx->cfg.tls_ca_file, "/etc/ssl/peers.pem");
    assert_string_equal(fx->cfg.tls_allow, "0b0c2a4e-2f9e-4f55-9d6a-3a0c7f3e1c2d,space");
    assert_string_equal(fx->cfg.space_id, "5b7e1c8a-1111-4222-8333-944455556666");
    assert_string_equal(cluster_tls_name(fx->cfg.tls), "true");
}

static void tls_settings_and_the_identity_reach_run_time(void **state)
{
    struct fixture *fx = *state;
    char *staging[] = {"ERLANG_CLUSTER_TLS=auto", "ERLANG_CLUSTER_TLS_ALLOW=space", NULL};
    assert_int_equal(stage(fx, "language: x\nversion: 1\ndefaults:\n  ERLANG_CLUSTER_TLS: "
                               "\"false\"\n", staging), 0);
    char err[256];
    assert_int_equal(config_write_staged(&fx->cfg, fx->staged, err, sizeof err), 0);
    char *launch[] = {"CF_INSTANCE_CERT=/etc/cf-instance-credentials/instance.crt",
                      "CF_INSTANCE_KEY=/etc/cf-instance-credentials/instance.key", NULL};
    assert_int_equal(run_time(fx, launch), 0);
    assert_int_equal(fx->cfg.tls, CLUSTER_TLS_AUTO);
    assert_int_equal(fx->cfg.source[FIELD_TLS], SOURCE_STAGING_ENV);
    assert_string_equal(fx->cfg.tls_allow, "space");
    assert_string_equal(fx->cfg.instance_cert, "/etc/cf-instance-credentials/instance.crt");
    assert_string_equal(fx->cfg.instance_key, "/etc/cf-instance-credentials/instance.key");
}

static void names_round_trip(void **state)
{
    (void)state;
    for (int f = 0; f < FIELD_COUNT; f++)
        assert_int_equal(config_field_from_variable(config_field_variable(f)), f);
    assert_int_equal(config_field_from_variable("ERLANG_CLUSTER_NOPE"), FIELD_COUNT);
    assert_string_equal(discovery_mode_name(DISCOVERY_EUREKA), "eureka");
    assert_string_equal(config_source_name(SOURCE_ENV), "environment");
    assert_string_equal(start_style_name(START_STYLE_MIX_RELEASE), "mix-release");
}

static void names_from_vcap_are_shown_on_one_printable_line(void **state)
{
    struct fixture *fx = *state;
    char *dns_env[] = {"VCAP_APPLICATION={\"name\":\"shop\\n-----> OK\"}",
                       "ERLANG_CLUSTER_DISCOVERY=dns", NULL};
    expect_error(fx, MANIFEST_PLAIN, dns_env, "cf map-route shop?-----> OK apps.internal", NULL);
    char *eureka_env[] = {"VCAP_SERVICES={\"r\":[{\"name\":\"reg\\u001b[2J\",\"tags\":[\"eureka\"],"
                          "\"credentials\":{\"uri\":\"http://r.example.com\"}}]}",
                          NULL};
    assert_int_equal(stage(fx, MANIFEST_PLAIN, eureka_env), 0);
    assert_non_null(strstr(fx->cfg.discovery_reason, "(service \"reg?[2J\")"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(uses_builtin_defaults_without_any_input),
        T(manifest_defaults_beat_builtins_and_env_beats_both),
        T(empty_variables_count_as_unset_and_values_are_trimmed),
        T(run_time_env_beats_staged_env_beats_defaults),
        T(staged_invalid_value_names_the_config_file),
        T(missing_staged_config_is_an_error_naming_it),
        T(cookie_comes_from_env_before_service),
        T(invalid_cookie_is_rejected_without_showing_it),
        T(cluster_name_and_basename_derive_from_the_app_name),
        T(long_app_names_give_a_valid_basename),
        T(auto_discovery_prefers_a_bound_registry),
        T(auto_discovery_uses_dns_for_a_query_or_an_internal_route),
        T(auto_discovery_falls_back_to_static_then_none),
        T(explicit_discovery_modes_need_their_input),
        T(two_registries_need_a_choice),
        T(every_invalid_value_fails_with_one_line_naming_the_variable),
        T(epmd_mode_refuses_the_epmd_port),
        T(booleans_accept_the_usual_spellings),
        T(disabled_stops_before_anything_else_is_checked),
        T(manifest_problems_name_the_file),
        T(instance_fields_are_read_and_checked),
        T(dns_servers_take_addresses_with_optional_ports),
        T(dns_servers_refuse_names_bad_ports_and_bad_brackets),
        T(tls_settings_resolve_with_their_defaults),
        T(the_peer_network_is_unset_by_default_and_kept_as_written),
        T(tls_settings_and_the_identity_reach_run_time),
        T(names_round_trip),
        T(names_from_vcap_are_shown_on_one_printable_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
