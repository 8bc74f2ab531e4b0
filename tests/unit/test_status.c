/* status.json and its human-readable form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "agent/status.h"

static void view_with_peers(struct peer_set *set, char **json)
{
    peer_set_init(set, 1000, 60000);
    struct strlist wanted = {0};
    strlist_add(&wanted, "chat@10.0.0.2");
    strlist_add(&wanted, "chat@10.0.0.3");
    peer_set_update_wanted(set, &wanted, 0);
    struct strlist nodes = {0};
    strlist_add(&nodes, "chat@10.0.0.2");
    struct peer_changes changes = {0};
    peer_set_update_connected(set, &nodes, 0, &changes);
    struct strlist due = {0};
    peer_set_take_due(set, 0, &due);
    peer_set_take_due(set, 1000, &due);
    struct agent_status s = {
        .mode = "eureka", .cluster = "chat", .node = "chat@10.0.0.1", .state = "running",
        .node_up = true, .registration = "registered", .registry = "reachable",
        .instance_id = "10.0.0.1:g1", .last_error = "discovery: timed out",
        .last_error_at = 1700000000, .registered_at = 1700000000, .peers = set, .pid = 42,
    };
    *json = status_to_json(&s);
    peer_changes_clear(&changes);
    strlist_clear(&due);
    strlist_clear(&nodes);
    strlist_clear(&wanted);
}

static void json_holds_the_view_with_peer_counts(void **state)
{
    (void)state;
    struct peer_set set;
    char *json;
    view_with_peers(&set, &json);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "mode")->valuestring, "eureka");
    assert_string_equal(cJSON_GetObjectItem(root, "registration")->valuestring, "registered");
    assert_string_equal(cJSON_GetObjectItem(root, "registered_at")->valuestring, "2023-11-14T22:13:20Z");
    assert_int_equal(cJSON_GetObjectItem(root, "peers_wanted")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(root, "peers_connected")->valueint, 1);
    cJSON *peers = cJSON_GetObjectItem(root, "peers");
    assert_int_equal(cJSON_GetArraySize(peers), 2);
    cJSON *second = cJSON_GetArrayItem(peers, 1);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(second, "connected")));
    assert_int_equal(cJSON_GetObjectItem(second, "failed_attempts")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(second, "retry_every_s")->valueint, 2);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(root, "last_discovery_at")));
    cJSON_Delete(root);
    free(json);
    peer_set_free(&set);
}

static void printed_view_names_each_peer_and_the_last_error(void **state)
{
    (void)state;
    struct peer_set set;
    char *json;
    view_with_peers(&set, &json);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    char err[256];
    assert_int_equal(status_print(json, out, err, sizeof err), 0);
    fclose(out);
    assert_non_null(strstr(text, "mode:         eureka"));
    assert_non_null(strstr(text, "1 connected of 2 wanted"));
    assert_non_null(strstr(text, "chat@10.0.0.2"));
    assert_non_null(strstr(text, "chat@10.0.0.3"));
    assert_non_null(strstr(text, "not connected (2 attempts, retrying every 2 s)"));
    assert_non_null(strstr(text, "last error:   discovery: timed out"));
    free(text);
    free(json);
    peer_set_free(&set);
}

static void a_peer_that_refused_our_cookie_is_shown_as_such(void **state)
{
    (void)state;
    struct peer_set set;
    char *json;
    view_with_peers(&set, &json);
    free(json);
    set.refused_retry_ms = 600000;
    assert_true(peer_set_mark_cookie_refused(&set, "chat@10.0.0.3", 2000));
    struct agent_status s = {.state = "running", .node_up = true, .peers = &set, .pid = 1};
    json = status_to_json(&s);
    cJSON *root = cJSON_Parse(json);
    cJSON *second = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "peers"), 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(second, "cookie_refused")));
    assert_int_equal(cJSON_GetObjectItem(second, "retry_every_s")->valueint, 600);
    cJSON_Delete(root);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    char err[256];
    assert_int_equal(status_print(json, out, err, sizeof err), 0);
    fclose(out);
    assert_non_null(strstr(text, "chat@10.0.0.3 refused the handshake: a different cookie; "
                                 "retrying every 600 s"));
    free(text);
    free(json);
    peer_set_free(&set);
}

static void an_error_is_cleared_once_its_own_condition_is_gone(void **state)
{
    (void)state;
    struct status_error e = {0};
    status_error_set(&e, STATUS_ERROR_NODE, 1700000000,
                     "cannot connect to app node %s: handshake refused", "chat@10.0.0.1");
    assert_string_equal(e.text, "cannot connect to app node chat@10.0.0.1: handshake refused");
    /* The registry answering says nothing about the node: kept. */
    status_error_clear(&e, STATUS_ERROR_REGISTRY);
    assert_string_equal(e.text, "cannot connect to app node chat@10.0.0.1: handshake refused");
    /* The node is up: the start-up error is history, and status shows none. */
    status_error_clear(&e, STATUS_ERROR_NODE);
    assert_string_equal(e.text, "");
    assert_int_equal(e.at, 0);
    struct agent_status s = {.state = "running", .node_up = true,
                             .last_error = e.text[0] ? e.text : NULL, .last_error_at = e.at};
    char *json = status_to_json(&s);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    char err[256];
    assert_int_equal(status_print(json, out, err, sizeof err), 0);
    fclose(out);
    assert_null(strstr(text, "last error"));
    free(text);
    free(json);
    /* A newer error of another kind replaces it and is cleared by its own condition only. */
    status_error_set(&e, STATUS_ERROR_REGISTRY, 1700000100, "discovery: timed out");
    status_error_clear(&e, STATUS_ERROR_NODE);
    assert_string_equal(e.text, "discovery: timed out");
    status_error_clear(&e, STATUS_ERROR_REGISTRY);
    assert_string_equal(e.text, "");
}

static void printing_garbage_is_an_error(void **state)
{
    (void)state;
    char err[256] = "";
    FILE *out = fopen("/dev/null", "w");
    assert_int_equal(status_print("{not json", out, err, sizeof err), -1);
    fclose(out);
    assert_true(err[0] != '\0');
}

/* A self-signed certificate valid until not_after ("YYYYMMDDHHMMSSZ") in a new temp file,
 * whose path goes to path. */
static void write_certificate(char *path, const char *not_after)
{
    strcpy(path, "/tmp/ecb_status_cert.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *cert = X509_new();
    assert_non_null(key);
    assert_non_null(cert);
    assert_int_equal(X509_set_version(cert, 2), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), 0));
    assert_int_equal(ASN1_TIME_set_string(X509_getm_notAfter(cert), not_after), 1);
    assert_int_equal(X509_set_pubkey(cert, key), 1);
    assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
    assert_int_equal(PEM_write_X509(f, cert), 1);
    assert_int_equal(fclose(f), 0);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static char *printed(const struct agent_status *s)
{
    char *json = status_to_json(s);
    assert_non_null(json);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    char err[256];
    assert_int_equal(status_print(json, out, err, sizeof err), 0);
    fclose(out);
    free(json);
    return text;
}

static void status_shows_tls_and_the_expiry_of_the_certificate_as_the_file_is_now(void **state)
{
    (void)state;
    char path[64];
    write_certificate(path, "20300102030405Z");
    struct agent_status s = {.state = "running", .pid = 1,
                             .tls_app = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", .tls_certfile = path};
    char *text = printed(&s);
    assert_non_null(strstr(text, "distribution: TLS (instance identity, app "
                                 "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9, certificate valid until "
                                 "2030-01-02T03:04:05Z)\n"));
    free(text);
    /* Rotated: the same view, the new certificate's expiry. */
    char rotated[64];
    write_certificate(rotated, "20310607080910Z");
    assert_int_equal(rename(rotated, path), 0);
    text = printed(&s);
    assert_non_null(strstr(text, "certificate valid until 2031-06-07T08:09:10Z)"));
    free(text);
    /* Gone: said, not hidden. */
    assert_int_equal(unlink(path), 0);
    text = printed(&s);
    assert_non_null(strstr(text, "distribution: TLS (instance identity, app "
                                 "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9; cannot read the certificate"));
    free(text);
}

static void status_shows_clear_text_without_tls(void **state)
{
    (void)state;
    struct agent_status s = {.state = "running", .pid = 1};
    char *text = printed(&s);
    assert_non_null(strstr(text, "distribution: clear text\n"));
    assert_null(strstr(text, "TLS"));
    free(text);
}

static void status_shows_a_node_that_ran_clear_text_despite_tls(void **state)
{
    (void)state;
    struct agent_status s = {.state = "stopped", .pid = 1,
                             .tls_app = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
                             .tls_certfile = "/nonexistent", .clear_despite_tls = true};
    char *text = printed(&s);
    assert_non_null(strstr(text, "\ndistribution: CLEAR TEXT although ERLANG_CLUSTER_TLS=true\n"));
    assert_null(strstr(text, "distribution: TLS"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_holds_the_view_with_peer_counts),
        cmocka_unit_test(status_shows_tls_and_the_expiry_of_the_certificate_as_the_file_is_now),
        cmocka_unit_test(status_shows_clear_text_without_tls),
        cmocka_unit_test(status_shows_a_node_that_ran_clear_text_despite_tls),
        cmocka_unit_test(printed_view_names_each_peer_and_the_last_error),
        cmocka_unit_test(printing_garbage_is_an_error),
        cmocka_unit_test(a_peer_that_refused_our_cookie_is_shown_as_such),
        cmocka_unit_test(an_error_is_cleared_once_its_own_condition_is_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
