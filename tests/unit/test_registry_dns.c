/* The dns back end: raw DNS answers to peer names (own address left out, duplicates merged,
 * IPv6), what counts as a failure and what as "no addresses", and the time bound against a
 * server that never answers. Answers to real queries from a real server are in
 * tests/integration/dns.bats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "discovery/dns.h"
#include "discovery/dns_answer.h"

#define QNAME "chat.apps.internal"

/* A DNS answer packet: header, one question, then answer records pointing back at it. */
struct packet {
    unsigned char bytes[2048];
    size_t len;
};

static void put16(struct packet *p, unsigned v)
{
    p->bytes[p->len++] = (unsigned char)(v >> 8);
    p->bytes[p->len++] = (unsigned char)v;
}

static void put_name(struct packet *p, const char *name)
{
    while (*name) {
        size_t label = strcspn(name, ".");
        p->bytes[p->len++] = (unsigned char)label;
        memcpy(p->bytes + p->len, name, label);
        p->len += label;
        name += label + (name[label] == '.');
    }
    p->bytes[p->len++] = 0;
}

/* An answer to `type` for QNAME with the given addresses (text), or none. */
static void build_answer(struct packet *p, int type, const char *const *addresses, size_t count)
{
    memset(p, 0, sizeof *p);
    put16(p, 0x1234);
    put16(p, 0x8180); /* response, recursion desired and available, NOERROR */
    put16(p, 1);
    put16(p, (unsigned)count);
    put16(p, 0);
    put16(p, 0);
    put_name(p, QNAME);
    put16(p, (unsigned)type);
    put16(p, ns_c_in);
    int family = type == ns_t_a ? AF_INET : AF_INET6;
    size_t rdlen = type == ns_t_a ? 4 : 16;
    for (size_t i = 0; i < count; i++) {
        put16(p, 0xc00c); /* the name in the question */
        put16(p, (unsigned)type);
        put16(p, ns_c_in);
        put16(p, 0);
        put16(p, 30); /* TTL */
        put16(p, (unsigned)rdlen);
        assert_int_equal(inet_pton(family, addresses[i], p->bytes + p->len), 1);
        p->len += rdlen;
    }
}

static void record_answer(struct dns_lookup *lookup, int family, const char *const *addresses,
                          size_t count)
{
    struct packet p;
    build_answer(&p, family == AF_INET ? ns_t_a : ns_t_aaaa, addresses, count);
    dns_lookup_init(lookup, family);
    dns_lookup_record(lookup, ARES_SUCCESS, p.bytes, (int)p.len);
}

static void record_status(struct dns_lookup *lookup, int family, int status)
{
    dns_lookup_init(lookup, family);
    dns_lookup_record(lookup, status, NULL, 0);
}

static void free_all(struct dns_lookup *lookups, size_t count, struct strlist *peers)
{
    for (size_t i = 0; i < count; i++)
        dns_lookup_free(&lookups[i]);
    strlist_clear(peers);
}

static void three_addresses_give_the_two_other_instances(void **state)
{
    (void)state;
    static const char *const a[] = {"10.255.0.4", "10.255.0.5", "10.255.0.6"};
    struct dns_lookup lookups[2];
    record_answer(&lookups[0], AF_INET, a, 3);
    record_status(&lookups[1], AF_INET6, ARES_ENODATA);
    assert_int_equal(lookups[0].status, ARES_SUCCESS);
    assert_int_equal(lookups[0].count, 3);
    struct strlist peers = {0};
    char err[256] = "";
    assert_int_equal(dns_peers_from_lookups(lookups, 2, QNAME, "chat", "10.255.0.5", &peers,
                                            err, sizeof err),
                     REGISTRY_OK);
    assert_int_equal(peers.len, 2);
    assert_string_equal(peers.items[0], "chat@10.255.0.4");
    assert_string_equal(peers.items[1], "chat@10.255.0.6");
    free_all(lookups, 2, &peers);
}

static void repeated_addresses_give_one_peer(void **state)
{
    (void)state;
    static const char *const a[] = {"10.0.0.7", "10.0.0.8", "10.0.0.7"};
    struct dns_lookup lookups[1];
    record_answer(&lookups[0], AF_INET, a, 3);
    struct strlist peers = {0};
    char err[256] = "";
    assert_int_equal(dns_peers_from_lookups(lookups, 1, QNAME, "chat", "10.0.0.1", &peers, err,
                                            sizeof err),
                     REGISTRY_OK);
    assert_int_equal(peers.len, 2);
    assert_string_equal(peers.items[0], "chat@10.0.0.7");
    assert_string_equal(peers.items[1], "chat@10.0.0.8");
    free_all(lookups, 1, &peers);
}

static void ipv6_addresses_become_valid_node_names_after_the_ipv4_ones(void **state)
{
    (void)state;
    static const char *const a[] = {"10.0.0.2"};
    static const char *const aaaa[] = {"fd00:0:0:0:0:0:0:2", "fd00::3"};
    struct dns_lookup lookups[2];
    record_answer(&lookups[0], AF_INET, a, 1);
    record_answer(&lookups[1], AF_INET6, aaaa, 2);
    struct strlist peers = {0};
    char err[256] = "";
    assert_int_equal(dns_peers_from_lookups(lookups, 2, QNAME, "chat", "10.0.0.9", &peers, err,
                                            sizeof err),
                     REGISTRY_OK);
    assert_int_equal(peers.len, 3);
    assert_string_equal(peers.items[0], "chat@10.0.0.2");
    assert_string_equal(peers.items[1], "chat@fd00::2"); /* the shortest spelling */
    assert_string_equal(peers.items[2], "chat@fd00::3");
    free_all(lookups, 2, &peers);
}

static void own_ipv6_address_is_left_out_whatever_its_spelling(void **state)
{
    (void)state;
    static const char *const aaaa[] = {"fd00::a", "fd00::b"};
    struct dns_lookup lookups[2];
    record_status(&lookups[0], AF_INET, ARES_ENODATA);
    record_answer(&lookups[1], AF_INET6, aaaa, 2);
    struct strlist peers = {0};
    char err[256] = "";
    assert_int_equal(dns_peers_from_lookups(lookups, 2, QNAME, "chat", "FD00:0::000A", &peers,
                                            err, sizeof err),
                     REGISTRY_OK);
    assert_int_equal(peers.len, 1);
    assert_string_equal(peers.items[0], "chat@fd00::b");
    free_all(lookups, 2, &peers);
}

static void an_answer_with_only_our_address_means_no_peers(void **state)
{
    (void)state;
    static const char *const a[] = {"10.0.0.5"};
    struct dns_lookup lookups[2];
    record_answer(&lookups[0], AF_INET, a, 1);
    record_status(&lookups[1], AF_INET6, ARES_ENODATA);
    struct strlist peers = {0};
    char err[256] = "";
    assert_int_equal(dns_peers_from_lookups(lookups, 2, QNAME, "chat", "10.0.0.5", &peers, err,
                                            sizeof err),
                     REGISTRY_OK);
    assert_int_equal(peers.len, 0);
    free_all(lookups, 2, &peers);
}

static void nxdomain_and_empty_answers_are_ok_with_no_peers(void **state)
{
    (void)state;
    struct dns_lookup lookups[2];
    record_status(&lookups[0], AF_INET, ARES_ENOTFOUND);
    record_answer(&lookups[1], AF_INET6, NULL, 0); /* NOERROR, no records */
    assert_int_equal(lookups[1].status, ARES_ENODATA);
    struct strlist peers = {0};
    char err[256] = "";
    assert_int_equal(dns_peers_from_lookups(lookups, 2, QNAME, "chat", "10.0.0.5", &peers, err,
                                            sizeof err),
                     REGISTRY_OK);
    assert_int_equal(peers.len, 0);
    free_all(lookups, 2, &peers);
    assert_true(dns_status_is_empty_answer(ARES_ENOTFOUND));
    assert_true(dns_status_is_empty_answer(ARES_ENODATA));
    assert_false(dns_status_is_empty_answer(ARES_ETIMEOUT));
    assert_false(dns_status_is_empty_answer(ARES_ESERVFAIL));
    assert_false(dns_status_is_empty_answer(ARES_EREFUSED));
}

static void failures_without_any_address_fail_and_say_why(void **state)
{
    (void)state;
    static const struct {
        int a_status, aaaa_status;
        const char *needle;
    } cases[] = {
        {ARES_ETIMEOUT, ARES_ETIMEOUT, "A: no answer in time; AAAA: no answer in time"},
        {ARES_ESERVFAIL, ARES_ENODATA, "A: server failure (SERVFAIL); AAAA: no records"},
        {ARES_ENOTFOUND, ARES_EREFUSED, "AAAA: refused by the server"},
        {ARES_ECONNREFUSED, ARES_ECONNREFUSED, "connection refused"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dns_lookup lookups[2];
        record_status(&lookups[0], AF_INET, cases[i].a_status);
        record_status(&lookups[1], AF_INET6, cases[i].aaaa_status);
        struct strlist peers = {0};
        char err[256] = "";
        assert_int_equal(dns_peers_from_lookups(lookups, 2, QNAME, "chat", "10.0.0.5", &peers,
                                                err, sizeof err),
                         REGISTRY_FAILED);
        if (strstr(err, QNAME) == NULL || strstr(err, cases[i].needle) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].needle);
        assert_int_equal(peers.len, 0);
        free_all(lookups, 2, &peers);
    }
}

static void one_family_failing_keeps_the_other_familys_peers(void **state)
{
    (void)state;
    static const char *const a[] = {"10.0.0.2", "10.0.0.3"};
    struct dns_lookup lookups[2];
    record_answer(&lookups[0], AF_INET, a, 2);
    record_status(&lookups[1], AF_INET6, ARES_ETIMEOUT);
    struct strlist peers = {0};
    char err[256] = "";
    assert_int_equal(dns_peers_from_lookups(lookups, 2, QNAME, "chat", "10.0.0.3", &peers, err,
                                            sizeof err),
                     REGISTRY_OK);
    assert_int_equal(peers.len, 1);
    assert_string_equal(peers.items[0], "chat@10.0.0.2");
    free_all(lookups, 2, &peers);
}

static void a_malformed_answer_is_a_failure(void **state)
{
    (void)state;
    static const char *const a[] = {"10.0.0.2"};
    struct packet p;
    build_answer(&p, ns_t_a, a, 1);
    struct dns_lookup lookup;
    dns_lookup_init(&lookup, AF_INET);
    dns_lookup_record(&lookup, ARES_SUCCESS, p.bytes, (int)p.len - 3); /* cut short */
    assert_int_equal(lookup.status, ARES_EBADRESP);
    assert_int_equal(lookup.count, 0);
    struct strlist peers = {0};
    char err[256] = "";
    assert_int_equal(dns_peers_from_lookups(&lookup, 1, QNAME, "chat", NULL, &peers, err,
                                            sizeof err),
                     REGISTRY_FAILED);
    assert_non_null(strstr(err, "malformed"));
    free_all(&lookup, 1, &peers);
}

/* What the agent builds a dns back end from, in the few fields it reads. */
struct dns_setup {
    const char *query;
    const char *basename;
    const char *self_ip;
    const char *servers;
    long budget_ms;
    int interrupt_fd;
};

static int make_dns(const struct dns_setup *setup, const struct log_sink *log,
                    struct registry_backend *reg, char *err, size_t errlen)
{
    struct config cfg = {
        .discovery = DISCOVERY_DNS,
        .dns_query = (char *)setup->query,
        .node_basename = (char *)setup->basename,
        .instance_ip = (char *)setup->self_ip,
        .dns_servers = (char *)setup->servers,
    };
    struct registry_runtime rt = {.node_name = "chat@10.0.0.1",
                                  .interrupt_fd = setup->interrupt_fd,
                                  .budget_ms = setup->budget_ms,
                                  .log = log};
    return registry_new(&cfg, &rt, reg, err, errlen);
}

static void invalid_options_are_refused_with_the_variable_named(void **state)
{
    (void)state;
    static const struct {
        struct dns_setup opts;
        const char *needle;
    } cases[] = {
        {{.query = "not a name", .basename = "chat", .budget_ms = 2000, .interrupt_fd = -1},
         "ERLANG_CLUSTER_DNS_QUERY"},
        {{.query = QNAME, .basename = "chat@x", .budget_ms = 2000, .interrupt_fd = -1},
         "ERLANG_CLUSTER_NODE_BASENAME"},
        {{.query = QNAME, .basename = "chat", .budget_ms = 10, .interrupt_fd = -1},
         "too short"},
        {{.query = QNAME, .basename = "chat", .servers = "dns.example", .budget_ms = 2000,
          .interrupt_fd = -1},
         "ERLANG_CLUSTER_DNS_SERVERS"},
    };
    struct log_sink log = {.stream = stderr, .level = LOG_LEVEL_ERROR, .program = "test"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct registry_backend reg = {0};
        char err[512] = "";
        assert_int_equal(make_dns(&cases[i].opts, &log, &reg, err, sizeof err), -1);
        if (strstr(err, cases[i].needle) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].needle);
        assert_null(reg.state);
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A UDP socket on loopback that receives queries and never answers. Returns its fd. */
static int bind_blackhole(char *servers, size_t len)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t alen = sizeof addr;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &alen), 0);
    snprintf(servers, len, "127.0.0.1:%u", ntohs(addr.sin_port));
    return fd;
}

static void a_server_that_never_answers_fails_within_the_budget(void **state)
{
    (void)state;
    char servers[64];
    int blackhole = bind_blackhole(servers, sizeof servers);
    struct dns_setup opts = {.query = QNAME, .basename = "chat", .self_ip = "10.0.0.1",
                               .servers = servers, .budget_ms = 400, .interrupt_fd = -1};
    struct log_sink log = {.stream = stderr, .level = LOG_LEVEL_ERROR, .program = "test"};
    struct registry_backend reg = {0};
    char err[512] = "";
    assert_int_equal(make_dns(&opts, &log, &reg, err, sizeof err), 0);
    assert_false(reg.has_lease);
    struct strlist peers = {0};
    int64_t start = now_ms();
    assert_int_equal(reg.discover(reg.state, start, &peers, err, sizeof err), REGISTRY_FAILED);
    int64_t took = now_ms() - start;
    if (took < 350 || took > 400 + 150)
        fail_msg("took %lld ms for a budget of 400 ms", (long long)took);
    assert_non_null(strstr(err, "no answer in time"));
    assert_non_null(strstr(err, servers));
    assert_int_equal(peers.len, 0);
    /* The queries did reach the server. */
    char buf[512];
    assert_true(recv(blackhole, buf, sizeof buf, MSG_DONTWAIT) > 0);
    reg.destroy(reg.state);
    close(blackhole);
}

static void a_readable_interrupt_fd_stops_a_lookup_at_once(void **state)
{
    (void)state;
    char servers[64];
    int blackhole = bind_blackhole(servers, sizeof servers);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    assert_int_equal(write(pipefd[1], "x", 1), 1);
    struct dns_setup opts = {.query = QNAME, .basename = "chat", .servers = servers,
                               .budget_ms = 5000, .interrupt_fd = pipefd[0]};
    struct log_sink log = {.stream = stderr, .level = LOG_LEVEL_ERROR, .program = "test"};
    struct registry_backend reg = {0};
    char err[512] = "";
    assert_int_equal(make_dns(&opts, &log, &reg, err, sizeof err), 0);
    struct strlist peers = {0};
    int64_t start = now_ms();
    assert_int_equal(reg.discover(reg.state, start, &peers, err, sizeof err),
                     REGISTRY_INTERRUPTED);
    if (now_ms() - start > 200)
        fail_msg("an interrupted lookup took %lld ms", (long long)(now_ms() - start));
    char byte;
    assert_int_equal(read(pipefd[0], &byte, 1), 1); /* left for the loop to read */
    reg.destroy(reg.state);
    close(pipefd[0]);
    close(pipefd[1]);
    close(blackhole);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_addresses_give_the_two_other_instances),
        cmocka_unit_test(repeated_addresses_give_one_peer),
        cmocka_unit_test(ipv6_addresses_become_valid_node_names_after_the_ipv4_ones),
        cmocka_unit_test(own_ipv6_address_is_left_out_whatever_its_spelling),
        cmocka_unit_test(an_answer_with_only_our_address_means_no_peers),
        cmocka_unit_test(nxdomain_and_empty_answers_are_ok_with_no_peers),
        cmocka_unit_test(failures_without_any_address_fail_and_say_why),
        cmocka_unit_test(one_family_failing_keeps_the_other_familys_peers),
        cmocka_unit_test(a_malformed_answer_is_a_failure),
        cmocka_unit_test(invalid_options_are_refused_with_the_variable_named),
        cmocka_unit_test(a_server_that_never_answers_fails_within_the_budget),
        cmocka_unit_test(a_readable_interrupt_fd_stops_a_lookup_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
