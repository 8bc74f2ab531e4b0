/* Log lines reach their stream whole, in one write, so they never interleave with what the
 * BEAM writes to the same stderr. A SOCK_SEQPACKET pair keeps write boundaries: each recv
 * returns exactly what one write sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

struct capture {
    int fds[2];
    FILE *stream; /* unbuffered, like stderr */
};

static int capture_setup(void **state)
{
    struct capture *c = calloc(1, sizeof *c);
    assert_non_null(c);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, c->fds), 0);
    c->stream = fdopen(c->fds[0], "w");
    assert_non_null(c->stream);
    assert_int_equal(setvbuf(c->stream, NULL, _IONBF, 0), 0);
    *state = c;
    return 0;
}

static int capture_teardown(void **state)
{
    struct capture *c = *state;
    fclose(c->stream);
    close(c->fds[1]);
    free(c);
    return 0;
}

/* The next write's bytes, or NULL when no write is waiting. */
static char *next_write(struct capture *c, size_t *len)
{
    static char buf[65536];
    ssize_t n = recv(c->fds[1], buf, sizeof buf - 1, MSG_DONTWAIT);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void agent_line_is_one_write(void **state)
{
    struct capture *c = *state;
    struct log_sink sink = {.stream = c->stream, .level = LOG_LEVEL_INFO,
                            .program = "erlang-cluster-agent", .timestamps = true};
    LOG_INFO(&sink, "peer joined: %s", "chat@10.0.0.2");
    size_t len = 0;
    char *got = next_write(c, &len);
    assert_non_null(got);
    /* "2024-01-01T00:00:00Z erlang-cluster-agent: INFO: peer joined: chat@10.0.0.2\n" */
    assert_int_equal(got[4], '-');
    assert_non_null(strstr(got, "Z erlang-cluster-agent: INFO: peer joined: chat@10.0.0.2\n"));
    assert_int_equal(got[len - 1], '\n');
    assert_null(next_write(c, &len));
}

static void lines_above_the_level_are_dropped(void **state)
{
    struct capture *c = *state;
    struct log_sink sink = {.stream = c->stream, .level = LOG_LEVEL_WARN, .program = "p"};
    LOG_INFO(&sink, "not shown");
    size_t len = 0;
    assert_null(next_write(c, &len));
    LOG_ERROR(&sink, "shown");
    assert_string_equal(next_write(c, &len), "p: ERROR: shown\n");
}

static void staging_line_is_one_write(void **state)
{
    struct capture *c = *state;
    log_warning(c->stream, "%s is not a setting", "ERLANG_CLUSTER_FOO");
    size_t len = 0;
    assert_string_equal(next_write(c, &len),
                        "       **WARNING** ERLANG_CLUSTER_FOO is not a setting\n");
    assert_null(next_write(c, &len));
}

/* A huge message is cut to LOG_LINE_MAX bytes (one atomic pipe write), still one line. */
static void long_line_is_cut_and_still_ends_the_line(void **state)
{
    struct capture *c = *state;
    struct log_sink sink = {.stream = c->stream, .level = LOG_LEVEL_INFO, .program = "p"};
    char *big = malloc(3 * LOG_LINE_MAX);
    assert_non_null(big);
    memset(big, 'x', 3 * LOG_LINE_MAX - 1);
    big[3 * LOG_LINE_MAX - 1] = '\0';
    LOG_INFO(&sink, "%s", big);
    free(big);
    size_t len = 0;
    char *got = next_write(c, &len);
    assert_non_null(got);
    assert_int_equal(len, LOG_LINE_MAX);
    assert_memory_equal(got + len - 4, "...\n", 4);
    assert_null(next_write(c, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(agent_line_is_one_write, capture_setup, capture_teardown),
        cmocka_unit_test_setup_teardown(lines_above_the_level_are_dropped, capture_setup,
                                        capture_teardown),
        cmocka_unit_test_setup_teardown(staging_line_is_one_write, capture_setup,
                                        capture_teardown),
        cmocka_unit_test_setup_teardown(long_line_is_cut_and_still_ends_the_line, capture_setup,
                                        capture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
