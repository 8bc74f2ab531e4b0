/* What the agent reads from a node's side of the distribution handshake (the name in its
 * challenge, dist_handshake.c) and which certificate OUs it accepts (dist_socket_tls.c): the
 * same as the node's own verify_fun, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/dist_socket.h"
#include "agent/dist_socket_private.h"

/* Feeds buf to a fresh connection's handshake watch in pieces of at most chunk bytes, as the
 * socket delivers them (header 2: clear text, 4: TLS), and copies the name it read. */
static bool watch_name(const unsigned char *buf, size_t len, size_t header, size_t chunk,
                       char *out, size_t outlen)
{
    static const struct tls_identity some_identity;
    struct dist_socket_setup setup;
    struct dist_connection c;
    memset(&setup, 0, sizeof setup);
    memset(&c, 0, sizeof c);
    setup.tls = header == 4 ? &some_identity : NULL;
    c.setup = &setup;
    for (size_t at = 0; at < len; at += chunk)
        dist_handshake_watch(&c, (const char *)buf + at, len - at < chunk ? len - at : chunk);
    if (setup.peer_name[0] == '\0' || strlen(setup.peer_name) >= outlen)
        return false;
    strcpy(out, setup.peer_name);
    return true;
}

/* Appends one handshake packet: its length in header bytes, then body. */
static size_t put_packet(unsigned char *buf, size_t at, size_t header, const unsigned char *body,
                         size_t n)
{
    for (size_t i = 0; i < header; i++)
        buf[at + i] = (unsigned char)(n >> (8 * (header - 1 - i)));
    memcpy(buf + at + header, body, n);
    return at + header + n;
}

/* An 'N' challenge (OTP 23+): tag, flags (8), challenge (4), creation (4), name length, name. */
static size_t new_challenge(unsigned char *body, const char *name)
{
    size_t len = strlen(name);
    memset(body, 0x11, 17);
    body[0] = 'N';
    body[17] = (unsigned char)(len >> 8);
    body[18] = (unsigned char)len;
    memcpy(body + 19, name, len);
    return 19 + len;
}

static const unsigned char STATUS_OK[] = {'s', 'o', 'k'};

static void the_name_in_a_new_challenge_is_read_after_the_status(void **state)
{
    (void)state;
    for (size_t header = 2; header <= 4; header += 2) { /* clear text, then TLS */
        unsigned char body[300], buf[600];
        size_t n = new_challenge(body, "app@10.255.1.2");
        size_t len = put_packet(buf, 0, header, STATUS_OK, sizeof STATUS_OK);
        len = put_packet(buf, len, header, body, n);
        char name[512] = "";
        assert_true(watch_name(buf, len, header, 64, name, sizeof name));
        assert_string_equal(name, "app@10.255.1.2");
    }
}

static void the_name_in_an_old_challenge_is_the_rest_of_the_packet(void **state)
{
    (void)state;
    unsigned char body[64] = {'n', 0, 6, 0, 0, 0, 0, 1, 2, 3, 4};
    memcpy(body + 11, "chat@127.0.0.1", 14);
    unsigned char buf[128];
    size_t len = put_packet(buf, 0, 2, STATUS_OK, sizeof STATUS_OK);
    len = put_packet(buf, len, 2, body, 25);
    char name[512] = "";
    assert_true(watch_name(buf, len, 2, 64, name, sizeof name));
    assert_string_equal(name, "chat@127.0.0.1");
}

static void an_incomplete_challenge_gives_no_name_until_it_is_complete(void **state)
{
    (void)state;
    unsigned char body[300], buf[600];
    size_t n = new_challenge(body, "app@vm");
    size_t len = put_packet(buf, 0, 2, STATUS_OK, sizeof STATUS_OK);
    len = put_packet(buf, len, 2, body, n);
    char name[512] = "";
    for (size_t cut = 0; cut < len; cut++)
        assert_false(watch_name(buf, cut, 2, 64, name, sizeof name));
    assert_true(watch_name(buf, len, 2, 1, name, sizeof name));
    assert_string_equal(name, "app@vm");
}

static void a_name_that_does_not_fit_or_lies_about_its_length_is_not_taken(void **state)
{
    (void)state;
    unsigned char body[600], buf[700];
    char too_long[MAXNODELEN + 2];
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    size_t n = new_challenge(body, too_long); /* longer than any node name may be */
    size_t len = put_packet(buf, 0, 2, body, n);
    char name[512] = "";
    assert_false(watch_name(buf, len, 2, 64, name, sizeof name));
    n = new_challenge(body, "a-rather-long-name@10.0.0.1");
    body[18] = 200; /* longer than the packet */
    len = put_packet(buf, 0, 2, body, n);
    assert_false(watch_name(buf, len, 2, 64, name, sizeof name));
    /* A status packet alone, or another tag, names nobody. */
    len = put_packet(buf, 0, 2, STATUS_OK, sizeof STATUS_OK);
    assert_false(watch_name(buf, len, 2, 64, name, sizeof name));
}

/* The identity the launch step records: the app GUID lower case, as VCAP_APPLICATION has it. */
static struct tls_identity identity(char *app, char **allow, size_t allow_count)
{
    struct tls_identity id = {.app_guid = app, .allow_count = allow_count};
    for (size_t i = 0; i < allow_count; i++)
        id.allow[i] = allow[i];
    return id;
}

static bool accepts(const struct tls_identity *id, const char *ou)
{
    return dist_tls_ou_allowed(ou, strlen(ou), id);
}

static void the_apps_own_ou_is_accepted_exactly_as_cloud_foundry_writes_it(void **state)
{
    (void)state;
    struct tls_identity id = identity("6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", NULL, 0);
    assert_true(accepts(&id, "app:6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"));
    /* The node's verify_fun compares exactly: an OU in upper case is refused there, so here. */
    assert_false(accepts(&id, "app:6F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9"));
    assert_false(accepts(&id, "APP:6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"));
    assert_false(accepts(&id, "app:6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f"));
    assert_false(accepts(&id, "app:6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9x"));
    assert_false(accepts(&id, "space:6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"));
    assert_false(accepts(&id, "organization:6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"));
}

static void a_guid_configured_in_upper_case_means_the_lower_case_ou_as_on_the_node(void **state)
{
    (void)state;
    /* tls_options.c lowers the GUIDs it writes into the node's optfile: so does the agent. */
    char *allow[] = {"space:AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"};
    struct tls_identity id = identity("6F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9", allow, 1);
    assert_true(accepts(&id, "app:6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"));
    assert_false(accepts(&id, "app:6F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9"));
    assert_true(accepts(&id, "space:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"));
    assert_false(accepts(&id, "space:AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"));
}

static void allowed_apps_and_spaces_are_accepted_and_nothing_else(void **state)
{
    (void)state;
    char *allow[] = {"app:11111111-2222-4333-8444-555555555555",
                     "space:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"};
    struct tls_identity id = identity("6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", allow, 2);
    assert_true(accepts(&id, "app:11111111-2222-4333-8444-555555555555"));
    assert_true(accepts(&id, "space:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"));
    assert_false(accepts(&id, "app:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"));
    assert_false(accepts(&id, "space:11111111-2222-4333-8444-555555555555"));
    assert_false(accepts(&id, ""));
}

static void without_an_app_guid_no_certificate_is_accepted(void **state)
{
    (void)state;
    char *allow[] = {"app:11111111-2222-4333-8444-555555555555"};
    struct tls_identity none = identity(NULL, NULL, 0);
    assert_false(accepts(&none, "app:6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"));
    assert_false(accepts(&none, ""));
    struct tls_identity only_allowed = identity(NULL, allow, 1);
    assert_false(accepts(&only_allowed, "app:11111111-2222-4333-8444-555555555555"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_name_in_a_new_challenge_is_read_after_the_status),
        cmocka_unit_test(the_name_in_an_old_challenge_is_the_rest_of_the_packet),
        cmocka_unit_test(an_incomplete_challenge_gives_no_name_until_it_is_complete),
        cmocka_unit_test(a_name_that_does_not_fit_or_lies_about_its_length_is_not_taken),
        cmocka_unit_test(the_apps_own_ou_is_accepted_exactly_as_cloud_foundry_writes_it),
        cmocka_unit_test(a_guid_configured_in_upper_case_means_the_lower_case_ou_as_on_the_node),
        cmocka_unit_test(allowed_apps_and_spaces_are_accepted_and_nothing_else),
        cmocka_unit_test(without_an_app_guid_no_certificate_is_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
