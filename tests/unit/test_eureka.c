/* The Eureka client's pure parts: the registration body and the discovery parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/eureka.h"
#include "common/config.h"

static const struct eureka_self SELF = {
    .cluster_name = "chat",
    .node_name = "chat@10.0.0.1",
    .instance_ip = "10.0.0.1",
    .instance_guid = "aaaa-1111",
    .app_guid = "app-guid-1",
    .instance_index = 3,
    .dist_port = 9001,
    .epmd = false,
    .renewal_interval_s = 30,
    .lease_duration_s = 90,
};

struct rejections {
    int count;
    char last_reason[256];
    char last_name[300];
};

static void record_reject(void *ctx, const char *id, const char *name, const char *reason)
{
    (void)id;
    struct rejections *r = ctx;
    r->count++;
    snprintf(r->last_reason, sizeof r->last_reason, "%s", reason);
    snprintf(r->last_name, sizeof r->last_name, "%s", name ? name : "(null)");
}

/* An instance as a server writes it, at address ip (NULL: no ipAddr). */
static char *instance_json_at(const char *id, const char *status, const char *cluster,
                              const char *node, const char *ip)
{
    cJSON *inst = cJSON_CreateObject();
    cJSON_AddStringToObject(inst, "instanceId", id);
    cJSON_AddStringToObject(inst, "app", "CHAT");
    cJSON_AddStringToObject(inst, "status", status);
    if (ip)
        cJSON_AddStringToObject(inst, "ipAddr", ip);
    cJSON *meta = cJSON_AddObjectToObject(inst, "metadata");
    if (cluster)
        cJSON_AddStringToObject(meta, EUREKA_META_CLUSTER, cluster);
    if (node)
        cJSON_AddStringToObject(meta, EUREKA_META_NODE_NAME, node);
    cJSON *lease = cJSON_AddObjectToObject(inst, "leaseInfo");
    cJSON_AddNumberToObject(lease, "renewalTimestamp", 1700000000000.0);
    cJSON_AddStringToObject(inst, "lastUpdatedTimestamp", "1700000000000");
    char *text = cJSON_PrintUnformatted(inst);
    cJSON_Delete(inst);
    return text;
}

/* An instance whose ipAddr is its node name's host part, as this buildpack registers them. */
static char *instance_json(const char *id, const char *status, const char *cluster,
                           const char *node)
{
    const char *at = node ? strchr(node, '@') : NULL;
    return instance_json_at(id, status, cluster, node, at ? at + 1 : "10.0.0.99");
}

static char *application(const char *instances)
{
    size_t n = strlen(instances) + 100;
    char *body = malloc(n);
    snprintf(body, n, "{\"application\":{\"name\":\"CHAT\",\"instance\":%s}}", instances);
    return body;
}

static void app_name_is_upper_cased_with_odd_characters_replaced(void **state)
{
    (void)state;
    char *app = registry_app_name("my_chat.app-1 x");
    assert_string_equal(app, "MY-CHAT.APP-1-X");
    free(app);
}

static void registration_body_has_every_field_a_server_requires(void **state)
{
    (void)state;
    char *text = eureka_registration_body(&SELF);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    cJSON *inst = cJSON_GetObjectItemCaseSensitive(root, "instance");
    assert_true(cJSON_IsObject(inst));
    assert_string_equal(cJSON_GetObjectItem(inst, "instanceId")->valuestring, "10.0.0.1:aaaa-1111");
    assert_string_equal(cJSON_GetObjectItem(inst, "hostName")->valuestring, "10.0.0.1");
    assert_string_equal(cJSON_GetObjectItem(inst, "ipAddr")->valuestring, "10.0.0.1");
    assert_string_equal(cJSON_GetObjectItem(inst, "app")->valuestring, "CHAT");
    assert_string_equal(cJSON_GetObjectItem(inst, "status")->valuestring, "UP");
    assert_string_equal(cJSON_GetObjectItem(inst, "vipAddress")->valuestring, "chat");
    /* port must be an object: a bare number makes servers answer 400 */
    cJSON *port = cJSON_GetObjectItem(inst, "port");
    assert_true(cJSON_IsObject(port));
    assert_int_equal(cJSON_GetObjectItem(port, "$")->valueint, 9001);
    assert_string_equal(cJSON_GetObjectItem(port, "@enabled")->valuestring, "true");
    cJSON *dc = cJSON_GetObjectItem(inst, "dataCenterInfo");
    assert_string_equal(cJSON_GetObjectItem(dc, "@class")->valuestring,
                        "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo");
    assert_string_equal(cJSON_GetObjectItem(dc, "name")->valuestring, "MyOwn");
    cJSON *lease = cJSON_GetObjectItem(inst, "leaseInfo");
    assert_int_equal(cJSON_GetObjectItem(lease, "renewalIntervalInSecs")->valueint, 30);
    assert_int_equal(cJSON_GetObjectItem(lease, "durationInSecs")->valueint, 90);
    cJSON *meta = cJSON_GetObjectItem(inst, "metadata");
    assert_string_equal(cJSON_GetObjectItem(meta, EUREKA_META_NODE_NAME)->valuestring, "chat@10.0.0.1");
    assert_string_equal(cJSON_GetObjectItem(meta, EUREKA_META_DIST_PORT)->valuestring, "9001");
    assert_string_equal(cJSON_GetObjectItem(meta, EUREKA_META_DIST_MODE)->valuestring, "epmd-less");
    assert_string_equal(cJSON_GetObjectItem(meta, EUREKA_META_CLUSTER)->valuestring, "chat");
    assert_string_equal(cJSON_GetObjectItem(meta, "cfAppGuid")->valuestring, "app-guid-1");
    assert_string_equal(cJSON_GetObjectItem(meta, "cfInstanceIndex")->valuestring, "3");
    assert_string_equal(cJSON_GetObjectItem(meta, "instanceId")->valuestring, "aaaa-1111");
    /* metadata values are all strings (a string-to-string map) */
    cJSON *m;
    cJSON_ArrayForEach(m, meta) assert_true(cJSON_IsString(m));
    cJSON_Delete(root);
    free(text);
}

static void registration_body_names_epmd_mode(void **state)
{
    (void)state;
    struct eureka_self self = SELF;
    self.epmd = true;
    char *text = eureka_registration_body(&self);
    assert_non_null(strstr(text, "\"" EUREKA_META_DIST_MODE "\":\"epmd\""));
    free(text);
}

static void parse_keeps_up_peers_of_the_cluster_from_an_array(void **state)
{
    (void)state;
    char *a = instance_json("10.0.0.2:g2", "UP", "chat", "chat@10.0.0.2");
    char *b = instance_json("10.0.0.3:g3", "UP", "chat", "chat@10.0.0.3");
    char list[4096];
    snprintf(list, sizeof list, "[%s,%s]", a, b);
    char *body = application(list);
    struct strlist peers = {0};
    struct rejections rej = {0};
    char err[256];
    assert_int_equal(eureka_parse_peers(body, &SELF, &peers, record_reject, &rej, err, sizeof err), 0);
    assert_int_equal(peers.len, 2);
    assert_string_equal(peers.items[0], "chat@10.0.0.2");
    assert_string_equal(peers.items[1], "chat@10.0.0.3");
    assert_int_equal(rej.count, 0);
    strlist_clear(&peers);
    free(body);
    free(a);
    free(b);
}

static void parse_accepts_a_single_object_instance(void **state)
{
    (void)state;
    char *a = instance_json("10.0.0.2:g2", "UP", "chat", "chat@10.0.0.2");
    char *body = application(a);
    struct strlist peers = {0};
    char err[256];
    assert_int_equal(eureka_parse_peers(body, &SELF, &peers, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(peers.len, 1);
    assert_string_equal(peers.items[0], "chat@10.0.0.2");
    strlist_clear(&peers);
    free(body);
    free(a);
}

static void parse_skips_down_starting_and_out_of_service_instances(void **state)
{
    (void)state;
    const char *statuses[] = {"DOWN", "STARTING", "OUT_OF_SERVICE", "UNKNOWN"};
    for (size_t i = 0; i < 4; i++) {
        char *a = instance_json("10.0.0.2:g2", statuses[i], "chat", "chat@10.0.0.2");
        char *body = application(a);
        struct strlist peers = {0};
        char err[256];
        assert_int_equal(eureka_parse_peers(body, &SELF, &peers, NULL, NULL, err, sizeof err), 0);
        assert_int_equal(peers.len, 0);
        free(body);
        free(a);
    }
}

static void parse_leaves_out_itself_quietly_by_instance_id(void **state)
{
    (void)state;
    char *by_id = instance_json("10.0.0.1:aaaa-1111", "UP", "chat", "chat@10.0.0.1");
    char *body = application(by_id);
    struct strlist peers = {0};
    struct rejections rej = {0};
    char err[256];
    assert_int_equal(eureka_parse_peers(body, &SELF, &peers, record_reject, &rej, err, sizeof err), 0);
    assert_int_equal(peers.len, 0);
    assert_int_equal(rej.count, 0);
    free(body);
    free(by_id);
}

static void parse_reports_another_instance_claiming_our_node_name(void **state)
{
    (void)state;
    /* A stale entry of an earlier container at our address, and one elsewhere. */
    char *stale = instance_json("10.0.0.1:old-guid", "UP", "chat", "chat@10.0.0.1");
    char *elsewhere = instance_json_at("10.0.0.7:g7", "UP", "chat", "chat@10.0.0.1", "10.0.0.7");
    char list[4096];
    snprintf(list, sizeof list, "[%s,%s]", stale, elsewhere);
    char *body = application(list);
    struct strlist peers = {0};
    struct rejections rej = {0};
    char err[256];
    assert_int_equal(eureka_parse_peers(body, &SELF, &peers, record_reject, &rej, err, sizeof err), 0);
    assert_int_equal(peers.len, 0);
    assert_int_equal(rej.count, 2);
    assert_non_null(strstr(rej.last_reason, "own name"));
    free(body);
    free(stale);
    free(elsewhere);
}

static void parse_rejects_a_node_whose_host_is_not_the_instance_address(void **state)
{
    (void)state;
    struct {
        const char *node, *ip;
    } cases[] = {
        {"chat@10.0.0.7", "10.0.0.2"},   /* another host */
        {"chat@10.0.0.2", NULL},         /* no ipAddr */
        {"chat@10.0.0.2", "not-an-ip"},
        {"chat@peer.example", "10.0.0.2"},
        {"chat@fd00::7", "fd00::2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *a = instance_json_at("10.0.0.2:g2", "UP", "chat", cases[i].node, cases[i].ip);
        char *body = application(a);
        struct strlist peers = {0};
        struct rejections rej = {0};
        char err[256];
        assert_int_equal(eureka_parse_peers(body, &SELF, &peers, record_reject, &rej, err, sizeof err), 0);
        if (peers.len != 0)
            fail_msg("case %zu passed: %s", i, peers.items[0]);
        assert_int_equal(rej.count, 1);
        assert_non_null(strstr(rej.last_reason, "ipAddr"));
        free(body);
        free(a);
    }
}

static void parse_compares_the_host_and_ipaddr_as_addresses(void **state)
{
    (void)state;
    char *a = instance_json_at("g6", "UP", "chat", "chat@fd00::6", "fd00:0:0:0:0:0:0:6");
    char *body = application(a);
    struct strlist peers = {0};
    char err[256];
    assert_int_equal(eureka_parse_peers(body, &SELF, &peers, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(peers.len, 1);
    assert_string_equal(peers.items[0], "chat@fd00::6");
    strlist_clear(&peers);
    free(body);
    free(a);
}

static void parse_rejects_a_name_hiding_an_escaped_nul(void **state)
{
    (void)state;
    /* cJSON would read "chat@10.0.0.2\u0000evil" as the valid "chat@10.0.0.2"; an escaped
     * backslash before u0000 is no NUL and must stay as it is. */
    const char *body =
        "{\"application\":{\"name\":\"CHAT\",\"instance\":["
        "{\"instanceId\":\"g2\",\"status\":\"UP\",\"ipAddr\":\"10.0.0.2\",\"metadata\":{"
        "\"" EUREKA_META_CLUSTER "\":\"chat\",\"" EUREKA_META_NODE_NAME "\":\"chat@10.0.0.2\\u0000evil\"}},"
        "{\"instanceId\":\"g3\",\"status\":\"UP\",\"ipAddr\":\"10.0.0.3\",\"metadata\":{"
        "\"" EUREKA_META_CLUSTER "\":\"chat\",\"" EUREKA_META_NODE_NAME "\":\"chat\\\\u0000@10.0.0.3\"}}]}}";
    struct strlist peers = {0};
    struct rejections rej = {0};
    char err[256];
    assert_int_equal(eureka_parse_peers(body, &SELF, &peers, record_reject, &rej, err, sizeof err), 0);
    assert_int_equal(peers.len, 0);
    assert_int_equal(rej.count, 2);
    assert_string_equal(rej.last_name, "chat\\u0000@10.0.0.3");
}

static void parse_rejects_other_clusters_and_missing_metadata(void **state)
{
    (void)state;
    char *other = instance_json("10.0.0.2:g2", "UP", "billing", "billing@10.0.0.2");
    char *spring = instance_json("10.0.0.3:g3", "UP", NULL, NULL);
    char *nameless = instance_json("10.0.0.4:g4", "UP", "chat", NULL);
    char list[4096];
    snprintf(list, sizeof list, "[%s,%s,%s]", other, spring, nameless);
    char *body = application(list);
    struct strlist peers = {0};
    struct rejections rej = {0};
    char err[256];
    assert_int_equal(eureka_parse_peers(body, &SELF, &peers, record_reject, &rej, err, sizeof err), 0);
    assert_int_equal(peers.len, 0);
    assert_int_equal(rej.count, 3);
    assert_non_null(strstr(rej.last_reason, EUREKA_META_NODE_NAME));
    free(body);
    free(other);
    free(spring);
    free(nameless);
}

static void parse_never_passes_hostile_node_names(void **state)
{
    (void)state;
    const char *hostile[] = {
        "chat@10.0.0.2\nINFO: forged",
        "chat@10.0.0.2'",
        "chat",
        "@10.0.0.2",
        "chat@@10.0.0.2",
        "ch at@10.0.0.2",
        "chat@10.0.0.2;os:cmd",
        "chat@300.1.1.1",
        "",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        char *a = instance_json("10.0.0.2:g2", "UP", "chat", hostile[i]);
        char *body = application(a);
        struct strlist peers = {0};
        struct rejections rej = {0};
        char err[256];
        assert_int_equal(eureka_parse_peers(body, &SELF, &peers, record_reject, &rej, err, sizeof err), 0);
        if (peers.len != 0)
            fail_msg("hostile name %zu passed: %s", i, peers.items[0]);
        assert_int_equal(rej.count, 1);
        free(body);
        free(a);
    }
}

static void parse_merges_duplicate_names(void **state)
{
    (void)state;
    char *a = instance_json("10.0.0.2:g2", "UP", "chat", "chat@10.0.0.2");
    char *b = instance_json("10.0.0.2:g2-restarted", "UP", "chat", "chat@10.0.0.2");
    char list[4096];
    snprintf(list, sizeof list, "[%s,%s]", a, b);
    char *body = application(list);
    struct strlist peers = {0};
    char err[256];
    assert_int_equal(eureka_parse_peers(body, &SELF, &peers, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(peers.len, 1);
    strlist_clear(&peers);
    free(body);
    free(a);
    free(b);
}

static void parse_accepts_an_application_without_instances(void **state)
{
    (void)state;
    struct strlist peers = {0};
    char err[256];
    assert_int_equal(eureka_parse_peers("{\"application\":{\"name\":\"CHAT\",\"instance\":[]}}",
                                        &SELF, &peers, NULL, NULL, err, sizeof err),
                     0);
    assert_int_equal(peers.len, 0);
    assert_int_equal(eureka_parse_peers("{\"application\":{\"name\":\"CHAT\"}}", &SELF, &peers,
                                        NULL, NULL, err, sizeof err),
                     0);
    assert_int_equal(peers.len, 0);
}

static void parse_fails_on_answers_that_are_not_an_application(void **state)
{
    (void)state;
    const char *bad[] = {
        "<application><name>CHAT</name></application>",
        "",
        "[]",
        "{\"applications\":{}}",
        "{\"application\":{\"instance\":42}}",
        "{\"application\":{\"instance\":[{\"status\":\"UP\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct strlist peers = {0};
        char err[256] = "";
        assert_int_equal(eureka_parse_peers(bad[i], &SELF, &peers, NULL, NULL, err, sizeof err), -1);
        assert_true(err[0] != '\0');
        assert_int_equal(peers.len, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(app_name_is_upper_cased_with_odd_characters_replaced),
        cmocka_unit_test(registration_body_has_every_field_a_server_requires),
        cmocka_unit_test(registration_body_names_epmd_mode),
        cmocka_unit_test(parse_keeps_up_peers_of_the_cluster_from_an_array),
        cmocka_unit_test(parse_accepts_a_single_object_instance),
        cmocka_unit_test(parse_skips_down_starting_and_out_of_service_instances),
        cmocka_unit_test(parse_leaves_out_itself_quietly_by_instance_id),
        cmocka_unit_test(parse_reports_another_instance_claiming_our_node_name),
        cmocka_unit_test(parse_rejects_a_node_whose_host_is_not_the_instance_address),
        cmocka_unit_test(parse_compares_the_host_and_ipaddr_as_addresses),
        cmocka_unit_test(parse_rejects_a_name_hiding_an_escaped_nul),
        cmocka_unit_test(parse_rejects_other_clusters_and_missing_metadata),
        cmocka_unit_test(parse_never_passes_hostile_node_names),
        cmocka_unit_test(parse_merges_duplicate_names),
        cmocka_unit_test(parse_accepts_an_application_without_instances),
        cmocka_unit_test(parse_fails_on_answers_that_are_not_an_application),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
