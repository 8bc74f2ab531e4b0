/* No dial by the app node for a peer that has not passed the agent's own handshake: the
 * peer gate (peer_verify.c) and the loop's peer step through it, with the rpc and probe
 * seams of the Erlang side faked. The real handshake (the name a peer gives, the cookie,
 * TLS) runs against real nodes in tests/integration/agent.bats and hostile.bats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/loop_state.h"
#include "common/clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct world {
    struct erlang_node node;
    struct loop_settings cfg;
    struct loop_state st;
    struct log_sink log;
    char *log_text;
    size_t log_size;
    FILE *log_stream;
    int listener;
};

/* The fakes: who was probed, what the node was asked to dial. */
static struct strlist probed, dialled;
static enum peer_probe (*verdict)(const char *peer);

static enum peer_probe fake_probe(struct erlang_node *node, const char *peer,
                                  unsigned timeout_ms, char *err, size_t errlen)
{
    (void)node, (void)timeout_ms;
    assert_int_equal(strlist_add(&probed, peer), 0);
    enum peer_probe v = verdict(peer);
    if (v == PEER_PROBE_WRONG_NAME)
        snprintf(err, errlen, "the node at %s's address calls itself other@10.0.0.9", peer);
    else if (v != PEER_PROBE_ACCEPTED)
        snprintf(err, errlen, "%s did not answer a handshake", peer);
    return v;
}

static int fake_rpc(struct erlang_node *node, const char *mod, const char *fun,
                    const ei_x_buff *args, ei_x_buff *reply, unsigned timeout_ms, char *err,
                    size_t errlen)
{
    (void)node, (void)mod, (void)timeout_ms, (void)err, (void)errlen;
    reply->index = 0;
    if (strcmp(fun, "nodes") == 0)
        return ei_x_encode_empty_list(reply) < 0 ? -1 : 0;
    /* erlang:spawn(net_kernel, connect_node, [Peer]): note Peer, answer a pid */
    int index = 0, arity;
    char atom[MAXATOMLEN];
    assert_int_equal(ei_decode_list_header(args->buff, &index, &arity), 0);
    assert_int_equal(ei_skip_term(args->buff, &index), 0);
    assert_int_equal(ei_skip_term(args->buff, &index), 0);
    assert_int_equal(ei_decode_list_header(args->buff, &index, &arity), 0);
    assert_int_equal(ei_decode_atom(args->buff, &index, atom), 0);
    assert_int_equal(strlist_add(&dialled, atom), 0);
    erlang_pid pid = {.node = "chat@127.0.0.1", .num = 1, .creation = 1};
    return ei_x_encode_pid(reply, &pid) < 0 ? -1 : 0;
}

static enum peer_probe all_wrong(const char *peer)
{
    (void)peer;
    return PEER_PROBE_WRONG_NAME;
}

static enum peer_probe all_pass(const char *peer)
{
    (void)peer;
    return PEER_PROBE_ACCEPTED;
}

static enum peer_probe nobody_there(const char *peer)
{
    (void)peer;
    return PEER_PROBE_UNREACHABLE;
}

/* chat@127.0.0.2 is the real peer; every other name is a forgery. */
static enum peer_probe only_two_passes(const char *peer)
{
    return strcmp(peer, "chat@127.0.0.2") == 0 ? PEER_PROBE_ACCEPTED : PEER_PROBE_WRONG_NAME;
}

/* A listener on every loopback address at the distribution port the probes use. */
static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t len = sizeof sin;
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(fd, 64), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

static int setup_world(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    char err[256];
    int port;
    w->listener = listen_any(&port);
    assert_int_equal(erlang_node_init(&w->node, "chat@127.0.0.1", port, false, "cookie", err,
                                      sizeof err), 0);
    w->node.rpc = fake_rpc;
    w->node.probe = fake_probe;
    w->log_stream = open_memstream(&w->log_text, &w->log_size);
    assert_non_null(w->log_stream);
    w->log = (struct log_sink){.stream = w->log_stream, .level = LOG_LEVEL_INFO, .program = "t"};
    w->cfg = (struct loop_settings){.mode = "eureka", .cluster = "chat",
                                    .node_name = "chat@127.0.0.1", .signal_fd = -1,
                                    .poll_interval_s = 60};
    w->st = (struct loop_state){.cfg = &w->cfg, .node = &w->node, .log = &w->log};
    peer_set_init(&w->st.peers, 1000, 60000);
    memset(&probed, 0, sizeof probed);
    memset(&dialled, 0, sizeof dialled);
    *state = w;
    return 0;
}

static int teardown_world(void **state)
{
    struct world *w = *state;
    peer_set_free(&w->st.peers);
    erlang_node_free(&w->node);
    fclose(w->log_stream);
    free(w->log_text);
    close(w->listener);
    strlist_clear(&probed);
    strlist_clear(&dialled);
    free(w);
    return 0;
}

static void want(struct world *w, const char *const *names, size_t n)
{
    struct strlist list = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(strlist_add(&list, names[i]), 0);
    assert_int_equal(peer_set_update_wanted(&w->st.peers, &list, monotonic_ms()), 0);
    strlist_clear(&list);
}

static size_t count_in_log(struct world *w, const char *needle)
{
    fflush(w->log_stream);
    size_t n = 0;
    for (const char *p = w->log_text; p != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void a_peer_giving_another_name_is_never_dialled_and_said_once(void **state)
{
    struct world *w = *state;
    verdict = all_wrong;
    const char *names[] = {"chat@10.0.0.5", "chat@10.0.0.6", "chat@10.0.0.7"};
    want(w, names, 3);
    char err[256];
    int64_t later = monotonic_ms() + 60000;
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(loop_dial_peer(&w->st, names[i], later, err, sizeof err), DIAL_HELD);
    assert_int_equal(probed.len, 3);
    assert_int_equal(dialled.len, 0);
    assert_false(peer_set_find(&w->st.peers, "chat@10.0.0.5")->verified);
    /* One warning for the three (the next would come a minute later, with the count). */
    assert_int_equal(count_in_log(w, "WARN: the node at chat@10.0.0.5's address calls itself "
                                     "other@10.0.0.9; not connecting"), 1);
    assert_int_equal(count_in_log(w, "WARN:"), 1);
    assert_int_equal(w->st.verify_failures, 2);
}

static void a_peer_that_passes_is_dialled_and_not_probed_again(void **state)
{
    struct world *w = *state;
    verdict = all_pass;
    const char *names[] = {"chat@10.0.0.5"};
    want(w, names, 1);
    char err[256];
    int64_t later = monotonic_ms() + 60000;
    assert_int_equal(loop_dial_peer(&w->st, names[0], later, err, sizeof err), DIAL_ASKED);
    assert_true(peer_set_find(&w->st.peers, names[0])->verified);
    assert_int_equal(loop_dial_peer(&w->st, names[0], later, err, sizeof err), DIAL_ASKED);
    assert_int_equal(probed.len, 1); /* verified once: its second dial is the node's alone */
    assert_int_equal(dialled.len, 2);
    assert_string_equal(dialled.items[0], names[0]);
}

static void a_new_peer_that_does_not_answer_waits_for_its_port(void **state)
{
    struct world *w = *state;
    verdict = nobody_there;
    const char *names[] = {"chat@10.0.0.5"};
    want(w, names, 1);
    char err[256];
    assert_int_equal(loop_dial_peer(&w->st, names[0], monotonic_ms() + 60000, err, sizeof err),
                     DIAL_HELD);
    assert_int_equal(dialled.len, 0);
    assert_true(peer_set_find(&w->st.peers, names[0])->unreachable); /* the heal probes watch it */
}

static void a_new_peer_past_the_probe_budget_is_put_back_not_dialled(void **state)
{
    struct world *w = *state;
    verdict = all_pass;
    const char *names[] = {"chat@10.0.0.5"};
    want(w, names, 1);
    struct strlist due = {0};
    int64_t now = monotonic_ms();
    assert_int_equal(peer_set_take_due(&w->st.peers, now, &due), 0);
    strlist_clear(&due);
    char err[256];
    assert_int_equal(loop_dial_peer(&w->st, names[0], now - 1, err, sizeof err), DIAL_DEFERRED);
    struct peer *p = peer_set_find(&w->st.peers, names[0]);
    assert_int_equal(p->failures, 0);
    assert_true(p->next_attempt_ms <= monotonic_ms());
    assert_int_equal(probed.len + dialled.len, 0);
}

/* The whole peer step: a look at nodes(), the due peers' ports probed, the agent's handshake,
 * and only the peer that passed it reaches the node. */
static void the_peer_step_dials_only_the_verified_peer(void **state)
{
    struct world *w = *state;
    verdict = only_two_passes;
    const char *names[] = {"chat@127.0.0.3", "chat@127.0.0.2", "chat@127.0.0.4"};
    want(w, names, 3);
    assert_int_equal(loop_check_peers(&w->st, monotonic_ms()), 0);
    assert_int_equal(probed.len, 3);
    assert_int_equal(dialled.len, 1);
    assert_string_equal(dialled.items[0], "chat@127.0.0.2");
}

/* The heal probes dial a peer the moment its port answers: through the same gate. */
static void a_peer_whose_port_answers_again_still_needs_the_handshake(void **state)
{
    struct world *w = *state;
    verdict = only_two_passes;
    const char *names[] = {"chat@127.0.0.5", "chat@127.0.0.2"};
    want(w, names, 2);
    for (size_t i = 0; i < 2; i++) {
        struct peer *p = peer_set_find(&w->st.peers, names[i]);
        p->failures = 1;        /* dialled once, */
        p->unreachable = true;  /* its port silent then */
    }
    int64_t now = monotonic_ms();
    assert_true(loop_heal_next(&w->st) != INT64_MAX);
    assert_int_equal(loop_heal_step(&w->st, now), 0);
    assert_int_equal(probed.len, 2);
    assert_int_equal(dialled.len, 1);
    assert_string_equal(dialled.items[0], "chat@127.0.0.2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_peer_giving_another_name_is_never_dialled_and_said_once,
                                        setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(a_peer_that_passes_is_dialled_and_not_probed_again,
                                        setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(a_new_peer_that_does_not_answer_waits_for_its_port,
                                        setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(a_new_peer_past_the_probe_budget_is_put_back_not_dialled,
                                        setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(the_peer_step_dials_only_the_verified_peer, setup_world,
                                        teardown_world),
        cmocka_unit_test_setup_teardown(a_peer_whose_port_answers_again_still_needs_the_handshake,
                                        setup_world, teardown_world),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
