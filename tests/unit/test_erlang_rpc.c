/* The rpc calls into the app node through the rpc seam: what each call asks of the node,
 * how it reads the answer, and that a failed call never leaves the connection half used
 * (the next call connects afresh, and a late answer is never taken for the next one). The
 * real transport is run against real nodes by tests/integration/agent.bats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/erlang_node.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the fake node saw and will answer. */
struct fake {
    char mod[32], fun[32];
    char args[512]; /* ei_s_print_term of the arguments */
    int calls;
    int fail;       /* 0: answer; else returned as is */
    void (*answer)(ei_x_buff *reply);
};
static struct fake fake;

static int fake_rpc(struct erlang_node *node, const char *mod, const char *fun,
                    const ei_x_buff *args, ei_x_buff *reply, unsigned timeout_ms, char *err,
                    size_t errlen)
{
    (void)node, (void)timeout_ms;
    fake.calls++;
    snprintf(fake.mod, sizeof fake.mod, "%s", mod);
    snprintf(fake.fun, sizeof fake.fun, "%s", fun);
    char *text = NULL;
    int index = 0;
    if (ei_s_print_term(&text, args->buff, &index) >= 0)
        snprintf(fake.args, sizeof fake.args, "%s", text);
    free(text);
    if (fake.fail != 0) {
        snprintf(err, errlen, "fake failure");
        return fake.fail;
    }
    reply->index = 0;
    fake.answer(reply);
    return 0;
}

static void answer_two_nodes(ei_x_buff *r)
{
    ei_x_encode_list_header(r, 2);
    ei_x_encode_atom(r, "chat@10.255.1.2");
    ei_x_encode_atom(r, "chat@10.255.7.3");
    ei_x_encode_empty_list(r);
}

static void answer_a_number(ei_x_buff *r)
{
    ei_x_encode_long(r, 42);
}

static void answer_a_pid(ei_x_buff *r)
{
    erlang_pid pid = {.node = "chat@10.255.1.1", .num = 77, .serial = 0, .creation = 1};
    ei_x_encode_pid(r, &pid);
}

static void answer_pending(ei_x_buff *r)
{
    erlang_pid pid = {.node = "chat@10.255.1.1", .num = 99, .serial = 0, .creation = 1};
    ei_x_encode_tuple_header(r, 2);
    ei_x_encode_atom(r, "ok");
    ei_x_encode_list_header(r, 2);
    ei_x_encode_tuple_header(r, 2);
    ei_x_encode_atom(r, "owner");
    ei_x_encode_pid(r, &pid);
    ei_x_encode_tuple_header(r, 2);
    ei_x_encode_atom(r, "state");
    ei_x_encode_atom(r, "pending");
    ei_x_encode_empty_list(r);
}

static void answer_up(ei_x_buff *r)
{
    ei_x_encode_tuple_header(r, 2);
    ei_x_encode_atom(r, "ok");
    ei_x_encode_list_header(r, 1);
    ei_x_encode_tuple_header(r, 2);
    ei_x_encode_atom(r, "state");
    ei_x_encode_atom(r, "up");
    ei_x_encode_empty_list(r);
}

static void answer_bad_node(ei_x_buff *r)
{
    ei_x_encode_tuple_header(r, 2);
    ei_x_encode_atom(r, "error");
    ei_x_encode_atom(r, "bad_node");
}

static void answer_true(ei_x_buff *r)
{
    ei_x_encode_atom(r, "true");
}

/* A node "connected" over a pipe, so that a reset shows as fd -1 and a closed descriptor. */
static int setup_node(void **state)
{
    static struct erlang_node node;
    static char err[256];
    memset(&fake, 0, sizeof fake);
    assert_int_equal(erlang_node_init(&node, "chat@10.255.1.1", 9001, false, "cookie", err,
                                      sizeof err), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[1]);
    node.fd = fds[0];
    node.rpc = fake_rpc;
    *state = &node;
    return 0;
}

static int teardown_node(void **state)
{
    struct erlang_node *node = *state;
    erlang_node_free(node);
    return 0;
}

static void reset(struct erlang_node *node, int fd)
{
    assert_int_equal(node->fd, -1);
    assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed, not leaked */
}

static void nodes_asks_erlang_nodes_and_reads_the_names(void **state)
{
    struct erlang_node *node = *state;
    fake.answer = answer_two_nodes;
    struct strlist out = {0};
    char err[256];
    assert_int_equal(erlang_node_list(node, &out, 2000, err, sizeof err), 0);
    assert_string_equal(fake.mod, "erlang");
    assert_string_equal(fake.fun, "nodes");
    assert_string_equal(fake.args, "[]");
    assert_int_equal(out.len, 2);
    assert_string_equal(out.items[0], "chat@10.255.1.2");
    assert_string_equal(out.items[1], "chat@10.255.7.3");
    assert_true(erlang_node_connected(node));
    strlist_clear(&out);
}

static void an_answer_that_is_no_list_resets_the_connection(void **state)
{
    struct erlang_node *node = *state;
    int fd = node->fd;
    fake.answer = answer_a_number;
    struct strlist out = {0};
    char err[256];
    assert_int_equal(erlang_node_list(node, &out, 2000, err, sizeof err), -1);
    assert_string_equal(err, "erlang:nodes() on chat@10.255.1.1 answered something other than "
                             "a list");
    assert_int_equal(out.len, 0);
    reset(node, fd);
}

static void a_stop_signal_is_passed_on_and_resets_the_connection(void **state)
{
    struct erlang_node *node = *state;
    int fd = node->fd;
    fake.fail = ERLANG_NODE_STOPPED;
    char err[256];
    assert_int_equal(erlang_node_connect_peer(node, "chat@10.255.1.2", 2000, err, sizeof err),
                     ERLANG_NODE_STOPPED);
    reset(node, fd);
}

static void connect_peer_spawns_connect_node_with_the_name(void **state)
{
    struct erlang_node *node = *state;
    fake.answer = answer_a_pid;
    char err[256];
    assert_int_equal(erlang_node_connect_peer(node, "chat@10.255.1.2", 2000, err, sizeof err), 0);
    assert_string_equal(fake.mod, "erlang");
    assert_string_equal(fake.fun, "spawn");
    assert_string_equal(fake.args, "[net_kernel, connect_node, ['chat@10.255.1.2']]");
    assert_true(erlang_node_connected(node));
}

static void connect_peer_without_a_pid_is_a_refusal(void **state)
{
    struct erlang_node *node = *state;
    int fd = node->fd;
    fake.answer = answer_true;
    char err[256];
    assert_int_equal(erlang_node_connect_peer(node, "chat@10.255.1.2", 2000, err, sizeof err), -1);
    assert_string_equal(err, "app node chat@10.255.1.1 refused to start a connection to "
                             "chat@10.255.1.2");
    reset(node, fd);
}

/* The second answer of abort_setup: node_info first, then exit. */
static int abort_calls;
static void answer_pending_then_true(ei_x_buff *r)
{
    if (abort_calls++ == 0)
        answer_pending(r);
    else
        answer_true(r);
}

static void a_pending_setup_is_killed_by_its_owner_pid(void **state)
{
    struct erlang_node *node = *state;
    abort_calls = 0;
    fake.answer = answer_pending_then_true;
    char err[256];
    assert_int_equal(erlang_node_abort_setup(node, "chat@10.255.1.2", 2000, err, sizeof err), 1);
    assert_int_equal(fake.calls, 2);
    assert_string_equal(fake.mod, "erlang");
    assert_string_equal(fake.fun, "exit");
    assert_string_equal(fake.args, "[<chat@10.255.1.1.99.0>, kill]");
    assert_true(erlang_node_connected(node));
}

static void no_pending_setup_is_left_alone(void **state)
{
    struct erlang_node *node = *state;
    char err[256];
    fake.answer = answer_up;
    assert_int_equal(erlang_node_abort_setup(node, "chat@10.255.1.2", 2000, err, sizeof err), 0);
    fake.answer = answer_bad_node;
    assert_int_equal(erlang_node_abort_setup(node, "chat@10.255.1.2", 2000, err, sizeof err), 0);
    assert_int_equal(fake.calls, 2); /* node_info each time, never exit */
    assert_string_equal(fake.mod, "net_kernel");
    assert_string_equal(fake.fun, "node_info");
    assert_string_equal(fake.args, "['chat@10.255.1.2']");
    assert_true(erlang_node_connected(node));
}

static void an_odd_node_info_answer_resets_the_connection(void **state)
{
    struct erlang_node *node = *state;
    int fd = node->fd;
    fake.answer = answer_a_number;
    char err[256];
    assert_int_equal(erlang_node_abort_setup(node, "chat@10.255.1.2", 2000, err, sizeof err), -1);
    assert_string_equal(err, "net_kernel:node_info(chat@10.255.1.2) on chat@10.255.1.1 answered "
                             "something unexpected");
    reset(node, fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(nodes_asks_erlang_nodes_and_reads_the_names, setup_node,
                                        teardown_node),
        cmocka_unit_test_setup_teardown(an_answer_that_is_no_list_resets_the_connection,
                                        setup_node, teardown_node),
        cmocka_unit_test_setup_teardown(a_stop_signal_is_passed_on_and_resets_the_connection,
                                        setup_node, teardown_node),
        cmocka_unit_test_setup_teardown(connect_peer_spawns_connect_node_with_the_name,
                                        setup_node, teardown_node),
        cmocka_unit_test_setup_teardown(connect_peer_without_a_pid_is_a_refusal, setup_node,
                                        teardown_node),
        cmocka_unit_test_setup_teardown(a_pending_setup_is_killed_by_its_owner_pid, setup_node,
                                        teardown_node),
        cmocka_unit_test_setup_teardown(no_pending_setup_is_left_alone, setup_node,
                                        teardown_node),
        cmocka_unit_test_setup_teardown(an_odd_node_info_answer_resets_the_connection,
                                        setup_node, teardown_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
