/* The peer set: wanted vs connected, per-peer backoff, joined/lost detection. Time is
 * passed in, so every step is exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent/peers.h"

static struct strlist list_of(const char *a, const char *b, const char *c)
{
    struct strlist l = {0};
    const char *names[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (names[i])
            assert_int_equal(strlist_add(&l, names[i]), 0);
    return l;
}

static void take_due(struct peer_set *set, int64_t now, struct strlist *due)
{
    strlist_clear(due);
    assert_int_equal(peer_set_take_due(set, now, due), 0);
}

static void new_peers_are_due_at_once(void **state)
{
    (void)state;
    struct peer_set set;
    peer_set_init(&set, 1000, 60000);
    struct strlist wanted = list_of("a@10.0.0.2", "a@10.0.0.3", NULL);
    assert_int_equal(peer_set_update_wanted(&set, &wanted, 5000), 0);
    struct strlist due = {0};
    take_due(&set, 5000, &due);
    assert_int_equal(due.len, 2);
    assert_false(peer_set_complete(&set));
    assert_int_equal(peer_set_count_wanted(&set), 2);
    strlist_clear(&due);
    strlist_clear(&wanted);
    peer_set_free(&set);
}

static void unanswering_peer_backs_off_exponentially_up_to_the_cap(void **state)
{
    (void)state;
    struct peer_set set;
    peer_set_init(&set, 1000, 8000);
    struct strlist wanted = list_of("a@10.0.0.2", NULL, NULL);
    peer_set_update_wanted(&set, &wanted, 0);
    struct strlist due = {0};
    int64_t now = 0;
    int64_t expected_gaps[] = {1000, 2000, 4000, 8000, 8000, 8000};
    for (size_t i = 0; i < 6; i++) {
        take_due(&set, now, &due);
        assert_int_equal(due.len, 1);
        /* Not due a millisecond before its backoff runs out, due right at it. */
        take_due(&set, now + expected_gaps[i] - 1, &due);
        assert_int_equal(due.len, 0);
        assert_int_equal(peer_set_next_attempt(&set), now + expected_gaps[i]);
        now += expected_gaps[i];
    }
    strlist_clear(&due);
    strlist_clear(&wanted);
    peer_set_free(&set);
}

static void connected_peers_are_not_dialled_and_reset_their_backoff(void **state)
{
    (void)state;
    struct peer_set set;
    peer_set_init(&set, 1000, 60000);
    struct strlist wanted = list_of("a@10.0.0.2", NULL, NULL);
    peer_set_update_wanted(&set, &wanted, 0);
    struct strlist due = {0};
    take_due(&set, 0, &due);
    take_due(&set, 1000, &due);
    take_due(&set, 3000, &due);
    assert_int_equal(set.items[0].failures, 3);

    struct strlist nodes = list_of("a@10.0.0.2", NULL, NULL);
    struct peer_changes changes = {0};
    assert_int_equal(peer_set_update_connected(&set, &nodes, 3500, &changes), 0);
    assert_int_equal(changes.joined.len, 1);
    assert_string_equal(changes.joined.items[0], "a@10.0.0.2");
    assert_int_equal(changes.lost.len, 0);
    assert_true(peer_set_complete(&set));
    assert_int_equal(set.items[0].failures, 0);
    take_due(&set, 100000, &due);
    assert_int_equal(due.len, 0);
    assert_int_equal(peer_set_next_attempt(&set), INT64_MAX);
    peer_changes_clear(&changes);

    /* Same view again: no change reported. */
    assert_int_equal(peer_set_update_connected(&set, &nodes, 4000, &changes), 0);
    assert_int_equal(changes.joined.len + changes.lost.len, 0);
    peer_changes_clear(&changes);
    strlist_clear(&nodes);
    strlist_clear(&due);
    strlist_clear(&wanted);
    peer_set_free(&set);
}

static void a_lost_peer_is_reported_once_and_dialled_again_at_once(void **state)
{
    (void)state;
    struct peer_set set;
    peer_set_init(&set, 1000, 60000);
    struct strlist wanted = list_of("a@10.0.0.2", NULL, NULL);
    peer_set_update_wanted(&set, &wanted, 0);
    struct strlist nodes = list_of("a@10.0.0.2", NULL, NULL);
    struct strlist none = {0};
    struct peer_changes changes = {0};
    peer_set_update_connected(&set, &nodes, 0, &changes);
    peer_changes_clear(&changes);

    assert_int_equal(peer_set_update_connected(&set, &none, 7000, &changes), 0);
    assert_int_equal(changes.lost.len, 1);
    assert_string_equal(changes.lost.items[0], "a@10.0.0.2");
    peer_changes_clear(&changes);
    assert_int_equal(peer_set_update_connected(&set, &none, 8000, &changes), 0);
    assert_int_equal(changes.lost.len, 0);
    peer_changes_clear(&changes);

    struct strlist due = {0};
    take_due(&set, 7000, &due);
    assert_int_equal(due.len, 1);
    strlist_clear(&due);
    strlist_clear(&nodes);
    strlist_clear(&wanted);
    peer_set_free(&set);
}

static void registry_dropping_a_peer_never_disconnects_it(void **state)
{
    (void)state;
    struct peer_set set;
    peer_set_init(&set, 1000, 60000);
    struct strlist wanted = list_of("a@10.0.0.2", "a@10.0.0.3", NULL);
    peer_set_update_wanted(&set, &wanted, 0);
    struct strlist nodes = list_of("a@10.0.0.2", NULL, NULL);
    struct peer_changes changes = {0};
    peer_set_update_connected(&set, &nodes, 0, &changes);
    peer_changes_clear(&changes);

    /* The registry now lists nobody (e.g. an empty answer after a server restart). */
    struct strlist empty = {0};
    assert_int_equal(peer_set_update_wanted(&set, &empty, 1000), 0);
    /* The connected one is kept (not wanted, still connected); the unconnected one is gone. */
    assert_int_equal(set.len, 1);
    assert_string_equal(set.items[0].name, "a@10.0.0.2");
    assert_true(set.items[0].connected);
    assert_int_equal(peer_set_count_wanted(&set), 0);
    assert_true(peer_set_complete(&set));
    struct strlist due = {0};
    take_due(&set, 1000, &due);
    assert_int_equal(due.len, 0);
    strlist_clear(&nodes);
    strlist_clear(&wanted);
    peer_set_free(&set);
}

static void nodes_joined_by_others_are_reported_without_being_wanted(void **state)
{
    (void)state;
    struct peer_set set;
    peer_set_init(&set, 1000, 60000);
    struct strlist nodes = list_of("a@10.0.0.4", NULL, NULL);
    struct peer_changes changes = {0};
    assert_int_equal(peer_set_update_connected(&set, &nodes, 0, &changes), 0);
    assert_int_equal(changes.joined.len, 1);
    assert_int_equal(peer_set_count_wanted(&set), 0);
    assert_int_equal(peer_set_count_connected_wanted(&set), 0);
    peer_changes_clear(&changes);
    struct strlist none = {0};
    assert_int_equal(peer_set_update_connected(&set, &none, 10, &changes), 0);
    assert_int_equal(changes.lost.len, 1);
    assert_int_equal(set.len, 0);
    peer_changes_clear(&changes);
    strlist_clear(&nodes);
    peer_set_free(&set);
}

static void fresh_unconnected_peers_are_told_apart_from_long_dead_ones(void **state)
{
    (void)state;
    struct peer_set set;
    peer_set_init(&set, 1000, 60000);
    struct strlist wanted = list_of("a@10.0.0.2", NULL, NULL);
    peer_set_update_wanted(&set, &wanted, 0);
    assert_true(peer_set_has_fresh_unconnected(&set, 3));
    struct strlist due = {0};
    int64_t now = 0;
    for (int i = 0; i < 3; i++) {
        take_due(&set, now, &due);
        now = peer_set_next_attempt(&set);
    }
    assert_false(peer_set_has_fresh_unconnected(&set, 3));
    assert_false(peer_set_complete(&set));
    strlist_clear(&due);
    strlist_clear(&wanted);
    peer_set_free(&set);
}

static void a_peer_that_refused_our_cookie_is_retried_rarely_and_reported_once(void **state)
{
    (void)state;
    struct peer_set set;
    peer_set_init(&set, 1000, 60000);
    set.refused_retry_ms = 600000;
    struct strlist wanted = list_of("a@10.0.0.2", "a@10.0.0.3", NULL);
    assert_int_equal(peer_set_update_wanted(&set, &wanted, 0), 0);
    struct strlist due = {0};
    take_due(&set, 0, &due);
    assert_true(peer_set_has_fresh_unconnected(&set, 5));
    assert_true(peer_set_mark_cookie_refused(&set, "a@10.0.0.2", 1000));
    assert_false(peer_set_mark_cookie_refused(&set, "a@10.0.0.2", 1000)); /* not news */
    assert_false(peer_set_mark_cookie_refused(&set, "z@10.0.0.9", 1000)); /* unknown */
    assert_true(peer_set_has_cookie_refused(&set));
    /* The other peer goes on with the usual backoff; the refused one waits 10 min. */
    take_due(&set, 1000, &due);
    assert_int_equal(due.len, 1);
    assert_string_equal(due.items[0], "a@10.0.0.3");
    take_due(&set, 600999, &due);
    assert_int_equal(due.len, 1);
    assert_string_equal(due.items[0], "a@10.0.0.3");
    take_due(&set, 601000, &due); /* the other one is in its 4 s backoff */
    assert_int_equal(due.len, 1);
    assert_string_equal(due.items[0], "a@10.0.0.2");
    /* Still refusing: the next attempt is again 10 min away, whatever the failure count. */
    take_due(&set, 601000 + 600000 - 1, &due);
    for (size_t i = 0; i < due.len; i++)
        assert_string_not_equal(due.items[i], "a@10.0.0.2");
    /* A refused peer alone does not keep the fast look going. */
    struct strlist nodes = list_of("a@10.0.0.3", NULL, NULL);
    struct peer_changes changes = {0};
    assert_int_equal(peer_set_update_connected(&set, &nodes, 700000, &changes), 0);
    assert_false(peer_set_has_fresh_unconnected(&set, 5));
    /* Accepting us after all (a restart with the right cookie) clears it. */
    assert_true(peer_set_clear_cookie_refused(&set, "a@10.0.0.2"));
    assert_false(peer_set_clear_cookie_refused(&set, "a@10.0.0.2"));
    assert_false(peer_set_has_cookie_refused(&set));
    peer_changes_clear(&changes);
    strlist_clear(&nodes);
    strlist_clear(&due);
    strlist_clear(&wanted);
    peer_set_free(&set);
}

static void joining_clears_a_cookie_refusal(void **state)
{
    (void)state;
    struct peer_set set;
    peer_set_init(&set, 1000, 60000);
    struct strlist wanted = list_of("a@10.0.0.2", NULL, NULL);
    assert_int_equal(peer_set_update_wanted(&set, &wanted, 0), 0);
    assert_true(peer_set_mark_cookie_refused(&set, "a@10.0.0.2", 0));
    struct peer_changes changes = {0};
    assert_int_equal(peer_set_update_connected(&set, &wanted, 10, &changes), 0);
    assert_int_equal(changes.joined.len, 1);
    assert_false(peer_set_has_cookie_refused(&set));
    assert_false(set.items[0].cookie_refused);
    peer_changes_clear(&changes);
    strlist_clear(&wanted);
    peer_set_free(&set);
}

static void peers_never_connected_are_not_lost_but_every_connected_one_gone_is(void **state)
{
    (void)state;
    struct peer_set set;
    peer_set_init(&set, 1000, 60000);
    struct strlist wanted = list_of("a@10.0.0.2", "a@10.0.0.3", NULL);
    struct strlist none = {0};
    struct strlist one = list_of("a@10.0.0.2", NULL, NULL);
    struct peer_changes changes = {0};
    assert_int_equal(peer_set_update_wanted(&set, &wanted, 0), 0);
    assert_false(peer_set_all_lost(&set)); /* a fresh instance: nobody reached yet */
    assert_int_equal(peer_set_update_connected(&set, &one, 100, &changes), 0);
    peer_changes_clear(&changes);
    assert_false(peer_set_all_lost(&set)); /* one is connected */
    assert_int_equal(peer_set_update_connected(&set, &none, 200, &changes), 0);
    peer_changes_clear(&changes);
    assert_true(peer_set_all_lost(&set)); /* the one it had is gone, the other never came */
    strlist_clear(&wanted);
    strlist_clear(&one);
    peer_set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_peers_are_due_at_once),
        cmocka_unit_test(unanswering_peer_backs_off_exponentially_up_to_the_cap),
        cmocka_unit_test(connected_peers_are_not_dialled_and_reset_their_backoff),
        cmocka_unit_test(a_lost_peer_is_reported_once_and_dialled_again_at_once),
        cmocka_unit_test(registry_dropping_a_peer_never_disconnects_it),
        cmocka_unit_test(nodes_joined_by_others_are_reported_without_being_wanted),
        cmocka_unit_test(fresh_unconnected_peers_are_told_apart_from_long_dead_ones),
        cmocka_unit_test(a_peer_that_refused_our_cookie_is_retried_rarely_and_reported_once),
        cmocka_unit_test(joining_clears_a_cookie_refusal),
        cmocka_unit_test(peers_never_connected_are_not_lost_but_every_connected_one_gone_is),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
