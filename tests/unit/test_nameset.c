/* The name index behind the registry answer's filter and the peer-set diff: every name added
 * is found with its value, a name is kept once, and growth keeps everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/nameset.h"

static void finds_each_added_name_with_its_value(void **state)
{
    (void)state;
    struct nameset set;
    assert_int_equal(nameset_init(&set, 2), 0);
    assert_int_equal(nameset_add(&set, "app@10.0.0.2", 7), 1);
    assert_int_equal(nameset_add(&set, "app@10.0.0.3", 9), 1);
    size_t value = 0;
    assert_true(nameset_find(&set, "app@10.0.0.2", &value));
    assert_int_equal(value, 7);
    assert_true(nameset_find(&set, "app@10.0.0.3", &value));
    assert_int_equal(value, 9);
    assert_false(nameset_find(&set, "app@10.0.0.4", &value));
    assert_false(nameset_find(&set, "app@10.0.0", NULL));
    assert_int_equal(set.len, 2);
    nameset_free(&set);
}

static void keeps_the_first_value_of_a_name_added_twice(void **state)
{
    (void)state;
    struct nameset set;
    assert_int_equal(nameset_init(&set, 0), 0);
    char copy[] = "app@10.0.0.2";
    assert_int_equal(nameset_add(&set, "app@10.0.0.2", 1), 1);
    assert_int_equal(nameset_add(&set, copy, 2), 0); /* equal text, another pointer */
    size_t value = 0;
    assert_true(nameset_find(&set, copy, &value));
    assert_int_equal(value, 1);
    assert_int_equal(set.len, 1);
    nameset_free(&set);
}

static void an_empty_or_freed_index_finds_nothing(void **state)
{
    (void)state;
    struct nameset set = {0};
    assert_false(nameset_find(&set, "app@10.0.0.2", NULL));
    assert_int_equal(nameset_init(&set, 0), 0);
    assert_false(nameset_find(&set, "", NULL));
    assert_int_equal(nameset_add(&set, "", 3), 1); /* the empty name is a name */
    assert_true(nameset_find(&set, "", NULL));
    nameset_free(&set);
    assert_null(set.slots);
    assert_false(nameset_find(&set, "", NULL));
}

/* Names that differ only in their last digits, as a cluster's node names do, far past the
 * capacity asked for at init. */
static void grows_and_keeps_every_name(void **state)
{
    (void)state;
    enum { COUNT = 5000 };
    char (*names)[32] = calloc(COUNT, sizeof *names);
    assert_non_null(names);
    struct nameset set;
    assert_int_equal(nameset_init(&set, 4), 0);
    for (size_t i = 0; i < COUNT; i++) {
        snprintf(names[i], sizeof names[i], "app@10.%zu.%zu.%zu", i / 65536, (i / 256) % 256, i % 256);
        assert_int_equal(nameset_add(&set, names[i], i), 1);
    }
    assert_int_equal(set.len, COUNT);
    assert_true(set.cap >= 2 * COUNT);
    for (size_t i = 0; i < COUNT; i++) {
        size_t value = SIZE_MAX;
        assert_true(nameset_find(&set, names[i], &value));
        assert_int_equal(value, i);
    }
    assert_false(nameset_find(&set, "app@10.0.19.136", NULL)); /* number 5000 */
    nameset_free(&set);
    free(names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_each_added_name_with_its_value),
        cmocka_unit_test(keeps_the_first_value_of_a_name_added_twice),
        cmocka_unit_test(an_empty_or_freed_index_finds_nothing),
        cmocka_unit_test(grows_and_keeps_every_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
