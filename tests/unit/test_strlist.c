/* The list of owned strings behind node lists and due peers: removing a string keeps the
 * others in their order, removes one copy only, and says whether it was there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/strlist.h"

static void removing_keeps_the_others_in_order(void **state)
{
    (void)state;
    struct strlist list = {0};
    assert_int_equal(strlist_add(&list, "a@10.0.0.1"), 0);
    assert_int_equal(strlist_add(&list, "b@10.0.0.2"), 0);
    assert_int_equal(strlist_add(&list, "c@10.0.0.3"), 0);
    assert_true(strlist_remove(&list, "b@10.0.0.2"));
    assert_int_equal(list.len, 2);
    assert_string_equal(list.items[0], "a@10.0.0.1");
    assert_string_equal(list.items[1], "c@10.0.0.3");
    assert_true(strlist_remove(&list, "c@10.0.0.3"));
    assert_true(strlist_remove(&list, "a@10.0.0.1"));
    assert_int_equal(list.len, 0);
    assert_false(strlist_contains(&list, "a@10.0.0.1"));
    strlist_clear(&list);
}

static void removes_one_copy_and_says_when_nothing_was_there(void **state)
{
    (void)state;
    struct strlist list = {0};
    assert_int_equal(strlist_add(&list, "a@10.0.0.1"), 0);
    assert_int_equal(strlist_add(&list, "a@10.0.0.1"), 0);
    assert_false(strlist_remove(&list, "a@10.0.0.2"));
    assert_false(strlist_remove(&list, "a@10.0.0"));
    assert_int_equal(list.len, 2);
    assert_true(strlist_remove(&list, "a@10.0.0.1"));
    assert_int_equal(list.len, 1);
    assert_true(strlist_contains(&list, "a@10.0.0.1"));
    strlist_clear(&list);
    assert_false(strlist_remove(&list, "a@10.0.0.1")); /* an empty list */
}

static void assigning_replaces_the_list_with_a_copy(void **state)
{
    (void)state;
    struct strlist list = {0}, from = {0};
    assert_int_equal(strlist_add(&list, "old@10.0.0.1"), 0);
    assert_int_equal(strlist_add(&from, "a@10.0.0.2"), 0);
    assert_int_equal(strlist_add(&from, "b@10.0.0.3"), 0);
    assert_int_equal(strlist_assign(&list, &from), 0);
    assert_int_equal(list.len, 2);
    assert_string_equal(list.items[0], "a@10.0.0.2");
    assert_string_equal(list.items[1], "b@10.0.0.3");
    assert_ptr_not_equal(list.items[0], from.items[0]); /* a copy: from stays the caller's */
    struct strlist empty = {0};
    assert_int_equal(strlist_assign(&list, &empty), 0);
    assert_int_equal(list.len, 0);
    strlist_clear(&list);
    strlist_clear(&from);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(removing_keeps_the_others_in_order),
        cmocka_unit_test(removes_one_copy_and_says_when_nothing_was_there),
        cmocka_unit_test(assigning_replaces_the_list_with_a_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
