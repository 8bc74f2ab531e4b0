/* What a registry answer may hand the agent: the peer networks (ERLANG_CLUSTER_PEER_NETWORK),
 * names per address, peers per answer, new names per minute; each said in one line when it
 * starts to apply. Also the name a peer gives in its handshake challenge, which the agent
 * compares with the listed one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/dist_socket.h"
#include "common/cidr.h"
#include "discovery/peer_bounds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(struct strlist *l, const char *fmt, ...)
{
    char name[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    assert_int_equal(strlist_add(l, name), 0);
}

struct logbuf {
    char *text;
    size_t size;
    FILE *stream;
    struct log_sink sink;
};

static void log_open(struct logbuf *b)
{
    b->stream = open_memstream(&b->text, &b->size);
    assert_non_null(b->stream);
    b->sink = (struct log_sink){.stream = b->stream, .level = LOG_LEVEL_INFO, .program = "t"};
}

static size_t log_count(struct logbuf *b, const char *needle)
{
    fflush(b->stream);
    size_t n = 0;
    for (const char *p = b->text; p && (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void log_close(struct logbuf *b)
{
    fclose(b->stream);
    free(b->text);
}

static void the_default_holds_the_whole_overlay_and_refuses_the_internet(void **state)
{
    (void)state;
    struct cidr *list;
    size_t n;
    char why[200];
    assert_int_equal(cidr_list_parse(CIDR_DEFAULT_PEER_NETWORK, &list, &n, why, sizeof why), 0);
    /* Cloud Foundry's default overlay: one /24 per cell, instances of one app in several. */
    assert_true(cidr_list_contains(list, n, "10.255.0.2"));
    assert_true(cidr_list_contains(list, n, "10.255.117.9"));
    assert_true(cidr_list_contains(list, n, "10.255.255.254"));
    assert_true(cidr_list_contains(list, n, "172.31.4.4"));
    assert_true(cidr_list_contains(list, n, "192.168.1.1"));
    assert_true(cidr_list_contains(list, n, "100.96.0.3"));
    assert_true(cidr_list_contains(list, n, "fd12::5"));
    /* A registry entry never legitimately points at loopback. */
    assert_false(cidr_list_contains(list, n, "127.0.0.2"));
    assert_false(cidr_list_contains(list, n, "::1"));
    assert_false(cidr_list_contains(list, n, "8.8.8.8"));
    assert_false(cidr_list_contains(list, n, "172.32.0.1"));
    assert_false(cidr_list_contains(list, n, "100.128.0.1"));
    assert_false(cidr_list_contains(list, n, "2001:db8::1"));
    assert_false(cidr_list_contains(list, n, "not-an-address"));
    free(list);
}

static void a_bad_network_is_named(void **state)
{
    (void)state;
    struct cidr c;
    char why[200];
    assert_int_equal(cidr_parse("10.255.0.0/16", &c, why, sizeof why), 0);
    assert_int_equal(c.prefix, 16);
    assert_int_equal(cidr_parse("10.0.0.7", &c, why, sizeof why), 0);
    assert_int_equal(c.prefix, 32);
    assert_int_equal(cidr_parse("10.255.1.0/16", &c, why, sizeof why), -1);
    assert_string_equal(why, "\"10.255.1.0/16\" has host bits set (the network is 10.255.0.0/16)");
    assert_int_equal(cidr_parse("10.0.0.0/33", &c, why, sizeof why), -1);
    assert_string_equal(why, "\"10.0.0.0/33\" has a prefix length that is not 0-32");
    assert_int_equal(cidr_parse("overlay", &c, why, sizeof why), -1);
    assert_string_equal(why, "\"overlay\" is not an IPv4 or IPv6 address");
    assert_int_equal(cidr_parse("fd00::/8", &c, why, sizeof why), 0);
    assert_int_equal(cidr_parse("0.0.0.0/0", &c, why, sizeof why), 0);
}

static void peers_outside_the_networks_are_dropped_and_said_once(void **state)
{
    (void)state;
    struct logbuf lb;
    log_open(&lb);
    struct peer_bounds b;
    char err[200];
    assert_int_equal(peer_bounds_init(&b, NULL, &lb.sink, err, sizeof err), 0);
    for (int round = 0; round < 3; round++) {
        struct strlist peers = {0};
        add(&peers, "chat@10.255.1.2");
        add(&peers, "chat@203.0.113.9");
        add(&peers, "chat@10.255.9.3");
        assert_int_equal(peer_bounds_apply(&b, &peers, NULL, round * 1000), 0);
        assert_int_equal(peers.len, 2);
        assert_string_equal(peers.items[0], "chat@10.255.1.2");
        assert_string_equal(peers.items[1], "chat@10.255.9.3");
        strlist_clear(&peers);
    }
    assert_int_equal(log_count(&lb, "registry lists 1 peer(s) outside the peer networks"), 1);
    assert_int_equal(log_count(&lb, "e.g. chat@203.0.113.9: not dialled (bound: "
                                    "ERLANG_CLUSTER_PEER_NETWORK"), 1);
    peer_bounds_free(&b);
    /* A network the user chose. */
    assert_int_equal(peer_bounds_init(&b, "203.0.113.0/24", NULL, err, sizeof err), 0);
    struct strlist peers = {0};
    add(&peers, "chat@10.255.1.2");
    add(&peers, "chat@203.0.113.9");
    assert_int_equal(peer_bounds_apply(&b, &peers, NULL, 0), 0);
    assert_int_equal(peers.len, 1);
    assert_string_equal(peers.items[0], "chat@203.0.113.9");
    strlist_clear(&peers);
    peer_bounds_free(&b);
    log_close(&lb);
}

static void a_real_cluster_passes_untouched(void **state)
{
    (void)state;
    struct logbuf lb;
    log_open(&lb);
    struct peer_bounds b;
    char err[200];
    assert_int_equal(peer_bounds_init(&b, NULL, &lb.sink, err, sizeof err), 0);
    /* 1,000 instances over 40 cells' /24s of the default overlay, all at once. */
    struct strlist peers = {0};
    for (int i = 0; i < 1000; i++)
        add(&peers, "chat@10.255.%d.%d", i % 40, 2 + i / 40);
    assert_int_equal(peer_bounds_apply(&b, &peers, NULL, 0), 0);
    assert_int_equal(peers.len, 1000);
    strlist_clear(&peers);
    fflush(lb.stream);
    assert_int_equal(lb.size, 0); /* no bound said anything */
    peer_bounds_free(&b);
    log_close(&lb);
}

static void names_per_address_keep_the_verified_ones(void **state)
{
    (void)state;
    struct logbuf lb;
    log_open(&lb);
    struct peer_bounds b;
    char err[200];
    assert_int_equal(peer_bounds_init(&b, NULL, &lb.sink, err, sizeof err), 0);
    struct strlist peers = {0};
    add(&peers, "real@10.255.3.4");
    assert_int_equal(peer_bounds_apply(&b, &peers, NULL, 0), 0);
    strlist_clear(&peers);
    for (int i = 0; i < 20; i++)
        add(&peers, "forged%d@10.255.3.4", i);
    add(&peers, "real@10.255.3.4"); /* listed last, verified: kept */
    struct strlist verified = {0};
    add(&verified, "real@10.255.3.4");
    assert_int_equal(peer_bounds_apply(&b, &peers, &verified, 1000), 0);
    strlist_clear(&verified);
    assert_int_equal(peers.len, PEER_BOUND_NAMES_PER_ADDRESS);
    assert_true(strlist_contains(&peers, "real@10.255.3.4"));
    strlist_clear(&peers);
    assert_int_equal(log_count(&lb, "registry lists more than 8 node names at one address "
                                    "(10.255.3.4): 13 not taken (bound: 8 names per address)"), 1);
    peer_bounds_free(&b);
    log_close(&lb);
}

static void an_answer_over_the_peer_bound_keeps_the_verified_ones(void **state)
{
    (void)state;
    struct logbuf lb;
    log_open(&lb);
    struct peer_bounds b;
    char err[200];
    assert_int_equal(peer_bounds_init(&b, NULL, &lb.sink, err, sizeof err), 0);
    struct strlist peers = {0};
    add(&peers, "chat@10.255.0.2");
    add(&peers, "chat@10.255.1.2");
    assert_int_equal(peer_bounds_apply(&b, &peers, NULL, 0), 0);
    strlist_clear(&peers);
    for (int i = 0; i < 3000; i++)
        add(&peers, "flood%d@10.%d.%d.%d", i, 1 + i / 60000, (i / 250) % 250, 1 + i % 250);
    add(&peers, "chat@10.255.1.2");
    add(&peers, "chat@10.255.0.2");
    struct strlist verified = {0};
    add(&verified, "chat@10.255.0.2");
    add(&verified, "chat@10.255.1.2");
    assert_int_equal(peer_bounds_apply(&b, &peers, &verified, 2000), 0);
    strlist_clear(&verified);
    assert_int_equal(peers.len, PEER_BOUND_PEERS);
    assert_true(strlist_contains(&peers, "chat@10.255.0.2"));
    assert_true(strlist_contains(&peers, "chat@10.255.1.2"));
    strlist_clear(&peers);
    assert_int_equal(log_count(&lb, "registry lists 3002 peers: 1978 not taken, verified ones "
                                    "first, the others in turns (bound: 1024 peers per answer)"), 1);
    peer_bounds_free(&b);
    log_close(&lb);
}

static void new_names_are_limited_per_minute(void **state)
{
    (void)state;
    struct logbuf lb;
    log_open(&lb);
    struct peer_bounds b;
    char err[200];
    assert_int_equal(peer_bounds_init(&b, NULL, &lb.sink, err, sizeof err), 0);
    /* A registry rotating 1,000 fresh names into every answer, one answer a second. */
    size_t passed_first_minute = 0, passed_second_minute = 0;
    for (int s = 0; s < 120; s++) {
        struct strlist peers = {0};
        for (int i = 0; i < 1000; i++)
            add(&peers, "f%d@10.%d.%d.%d", s * 1000 + i, s, i / 200, 1 + i % 200);
        assert_int_equal(peer_bounds_apply(&b, &peers, NULL, (int64_t)s * 1000), 0);
        if (s < 60)
            passed_first_minute += peers.len;
        else
            passed_second_minute += peers.len;
        strlist_clear(&peers);
    }
    assert_int_equal(passed_first_minute, PEER_BOUND_NEW_PER_MINUTE);
    assert_int_equal(passed_second_minute, PEER_BOUND_NEW_PER_MINUTE);
    assert_int_equal(log_count(&lb, "(bound: 1024 new peers per minute)"), 1);
    peer_bounds_free(&b);
    log_close(&lb);
}

/* A neighbour writing to the same registry keeps made-up names listed for good (PER_FAKE at
 * each of many private addresses), for as long as it likes. */
#define FAKES 3000
static void list_fakes(struct strlist *l)
{
    for (int i = 0; i < FAKES; i++)
        add(l, "fake%d@10.%d.%d.%d", i, 1 + i / 65536 % 200, i / 256 % 256, i / 8 % 32 + 1);
}

static void list_reals(struct strlist *l, const char *const *reals, size_t n)
{
    for (size_t i = 0; i < n; i++)
        add(l, "%s", reals[i]);
}

/* What the agent does with an answer: it verifies the real instances it is given (their
 * handshake passes; made-up names never answer theirs). */
static void verify_reals(const struct strlist *passed, const char *const *reals, size_t n,
                         struct strlist *verified)
{
    for (size_t i = 0; i < n; i++)
        if (strlist_contains(passed, reals[i]) && !strlist_contains(verified, reals[i]))
            add(verified, "%s", reals[i]);
}

static const char *const REALS[] = {"app-0@10.255.1.10", "app-1@10.255.2.11",
                                    "app-2@10.255.3.12"};

static void names_listed_before_earn_no_place_over_a_new_real_peer(void **state)
{
    (void)state;
    struct peer_bounds b;
    char err[200];
    assert_int_equal(peer_bounds_init(&b, NULL, NULL, err, sizeof err), 0);
    struct strlist verified = {0}, peers = {0};
    int64_t t = 0;
    /* An old member with two real peers; then the flood lists the same fakes for minutes. */
    list_reals(&peers, REALS, 2);
    assert_int_equal(peer_bounds_apply(&b, &peers, &verified, t), 0);
    verify_reals(&peers, REALS, 2, &verified);
    strlist_clear(&peers);
    for (int k = 0; k < 5; k++) {
        t += 61000;
        list_reals(&peers, REALS, 2);
        list_fakes(&peers);
        assert_int_equal(peer_bounds_apply(&b, &peers, &verified, t), 0);
        assert_int_equal(peers.len, PEER_BOUND_PEERS);
        assert_true(strlist_contains(&peers, REALS[0]));
        assert_true(strlist_contains(&peers, REALS[1]));
        strlist_clear(&peers);
    }
    /* A new real instance registers: it passes within the answers one turn over all listed
     * names takes (3,003 names, 1,022 free places), and once verified it stays. */
    int passed_at = -1;
    for (int k = 0; k < 10; k++) {
        t += 61000;
        list_reals(&peers, REALS, 3);
        list_fakes(&peers);
        assert_int_equal(peer_bounds_apply(&b, &peers, &verified, t), 0);
        if (passed_at < 0 && strlist_contains(&peers, REALS[2]))
            passed_at = k;
        if (passed_at >= 0)
            assert_true(strlist_contains(&peers, REALS[2]));
        assert_true(strlist_contains(&peers, REALS[0]));
        assert_true(strlist_contains(&peers, REALS[1]));
        verify_reals(&peers, REALS, 3, &verified);
        strlist_clear(&peers);
    }
    assert_in_range(passed_at, 0, 3);
    strlist_clear(&verified);
    peer_bounds_free(&b);
}

static void a_fresh_agent_reaches_real_peers_listed_after_the_fakes(void **state)
{
    (void)state;
    struct peer_bounds b;
    char err[200];
    assert_int_equal(peer_bounds_init(&b, NULL, NULL, err, sizeof err), 0);
    struct strlist verified = {0}, peers = {0};
    int answers = 0;
    for (int64_t t = 0; verified.len < 3 && answers < 10; t += 61000, answers++) {
        list_fakes(&peers);
        list_reals(&peers, REALS, 3);
        assert_int_equal(peer_bounds_apply(&b, &peers, &verified, t), 0);
        verify_reals(&peers, REALS, 3, &verified);
        strlist_clear(&peers);
    }
    assert_int_equal(verified.len, 3);
    assert_in_range(answers, 1, 4);
    /* From then on every answer keeps them. */
    list_fakes(&peers);
    list_reals(&peers, REALS, 3);
    assert_int_equal(peer_bounds_apply(&b, &peers, &verified, 61000 * 20), 0);
    for (size_t i = 0; i < 3; i++)
        assert_true(strlist_contains(&peers, REALS[i]));
    strlist_clear(&peers);
    strlist_clear(&verified);
    peer_bounds_free(&b);
}

static void fakes_at_a_real_peers_address_do_not_hide_it(void **state)
{
    (void)state;
    struct logbuf lb;
    log_open(&lb);
    struct peer_bounds b;
    char err[200];
    assert_int_equal(peer_bounds_init(&b, NULL, &lb.sink, err, sizeof err), 0);
    struct strlist verified = {0}, peers = {0};
    bool seen = false;
    for (int k = 0; k < 12; k++) {
        for (int i = 0; i < 8; i++)
            add(&peers, "x%d@10.255.1.10", i);
        add(&peers, "%s", REALS[0]);
        assert_int_equal(peer_bounds_apply(&b, &peers, &verified, k * 1000), 0);
        assert_int_equal(peers.len, PEER_BOUND_NAMES_PER_ADDRESS);
        if (k == 0) /* the first window is the first eight listed */
            assert_false(strlist_contains(&peers, REALS[0]));
        if (k == 1) /* the next one holds it */
            assert_true(strlist_contains(&peers, REALS[0]));
        if (seen) /* verified: it keeps its place */
            assert_true(strlist_contains(&peers, REALS[0]));
        seen = seen || strlist_contains(&peers, REALS[0]);
        verify_reals(&peers, REALS, 1, &verified);
        strlist_clear(&peers);
    }
    assert_int_equal(log_count(&lb, "(bound: 8 names per address)"), 1);
    strlist_clear(&verified);
    peer_bounds_free(&b);
    log_close(&lb);
}

/* Packets as OTP 25 sends them (erl_dist_protocol): 'n' (version 5) and 'N' (from OTP 23). */
static void the_name_in_a_challenge_is_read(void **state)
{
    (void)state;
    char name[MAXNODELEN + 1];
    unsigned char old[64] = {'n', 0, 5, 0, 0, 0x0d, 0x7f, 1, 2, 3, 4};
    memcpy(old + 11, "chat@10.255.1.2", 15);
    assert_int_equal(dist_challenge_name(old, 11 + 15, name, sizeof name), 0);
    assert_string_equal(name, "chat@10.255.1.2");
    unsigned char fresh[64] = {'N', 0, 0, 0, 0, 0, 0, 0x0d, 0x7f, 1, 2, 3, 4, 0, 0, 0, 9, 0, 15};
    memcpy(fresh + 19, "chat@10.255.7.3", 15);
    assert_int_equal(dist_challenge_name(fresh, 19 + 15 + 4, name, sizeof name), 0);
    assert_string_equal(name, "chat@10.255.7.3"); /* the length field, not the packet's end */
    /* A length beyond the packet, a name with a NUL, a status packet: no name. */
    assert_int_equal(dist_challenge_name(fresh, 19 + 10, name, sizeof name), -1);
    fresh[19 + 4] = '\0';
    assert_int_equal(dist_challenge_name(fresh, 19 + 15, name, sizeof name), -1);
    const unsigned char status[] = {'s', 'o', 'k'};
    assert_int_equal(dist_challenge_name(status, sizeof status, name, sizeof name), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_default_holds_the_whole_overlay_and_refuses_the_internet),
        cmocka_unit_test(a_bad_network_is_named),
        cmocka_unit_test(peers_outside_the_networks_are_dropped_and_said_once),
        cmocka_unit_test(a_real_cluster_passes_untouched),
        cmocka_unit_test(names_per_address_keep_the_verified_ones),
        cmocka_unit_test(an_answer_over_the_peer_bound_keeps_the_verified_ones),
        cmocka_unit_test(names_listed_before_earn_no_place_over_a_new_real_peer),
        cmocka_unit_test(a_fresh_agent_reaches_real_peers_listed_after_the_fakes),
        cmocka_unit_test(fakes_at_a_real_peers_address_do_not_hide_it),
        cmocka_unit_test(new_names_are_limited_per_minute),
        cmocka_unit_test(the_name_in_a_challenge_is_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
