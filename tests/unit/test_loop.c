/* The loop's timing policy: registry backoff and poll intervals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void registry_backoff_doubles_from_a_second_and_stays_under_the_cap(void **state)
{
    (void)state;
    /* random 0: no jitter taken off. */
    assert_int_equal(registry_backoff_ms(1, 30000, 0), 1000);
    assert_int_equal(registry_backoff_ms(2, 30000, 0), 2000);
    assert_int_equal(registry_backoff_ms(5, 30000, 0), 16000);
    assert_int_equal(registry_backoff_ms(6, 30000, 0), 30000);
    assert_int_equal(registry_backoff_ms(1000, 30000, 0), 30000);
}

static void registry_backoff_jitter_takes_off_at_most_a_quarter(void **state)
{
    (void)state;
    assert_int_equal(registry_backoff_ms(6, 30000, UINT32_MAX), 22500);
    int64_t mid = registry_backoff_ms(6, 30000, UINT32_MAX / 2);
    assert_true(mid > 22500 && mid < 30000);
    for (uint32_t r = 0; r < 4000000000u; r += 123456789u) {
        int64_t d = registry_backoff_ms(20, 30000, r);
        assert_true(d >= 22500 && d <= 30000);
    }
}

static void polls_fast_while_starting_or_while_a_fresh_peer_is_missing(void **state)
{
    (void)state;
    assert_int_equal(loop_poll_interval_ms(true, true, false, 10), 1000);
    assert_int_equal(loop_poll_interval_ms(false, false, true, 10), 1000);
}

static void polls_at_the_configured_interval_once_meshed_or_when_only_dead_peers_remain(void **state)
{
    (void)state;
    assert_int_equal(loop_poll_interval_ms(false, true, false, 10), 10000);
    assert_int_equal(loop_poll_interval_ms(false, false, false, 7), 7000);
}

/* A discovery logs (debug) only the names the peer set did not want yet, then wants them. */
static void a_discovery_logs_only_newly_listed_peers(void **state)
{
    (void)state;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    struct log_sink log = {.stream = out, .level = LOG_LEVEL_DEBUG, .program = "t"};
    struct peer_set set;
    peer_set_init(&set, 1000, 60000);
    struct strlist first = {0}, second = {0};
    assert_int_equal(strlist_add(&first, "chat@10.0.0.2"), 0);
    assert_int_equal(strlist_add(&second, "chat@10.0.0.2"), 0);
    assert_int_equal(strlist_add(&second, "chat@10.0.0.3"), 0);
    assert_int_equal(loop_take_discovery(&set, &first, 0, &log), 0);
    assert_int_equal(loop_take_discovery(&set, &second, 1, &log), 0);
    fclose(out);
    assert_string_equal(text, "t: DEBUG: registry lists peer chat@10.0.0.2\n"
                              "t: DEBUG: registry lists peer chat@10.0.0.3\n");
    assert_int_equal(peer_set_count_wanted(&set), 2);
    free(text);
    strlist_clear(&first);
    strlist_clear(&second);
    peer_set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_backoff_doubles_from_a_second_and_stays_under_the_cap),
        cmocka_unit_test(registry_backoff_jitter_takes_off_at_most_a_quarter),
        cmocka_unit_test(polls_fast_while_starting_or_while_a_fresh_peer_is_missing),
        cmocka_unit_test(polls_at_the_configured_interval_once_meshed_or_when_only_dead_peers_remain),
        cmocka_unit_test(a_discovery_logs_only_newly_listed_peers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
