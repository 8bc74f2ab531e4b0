/* The shared string buffer: appends of any size keep every byte, formatted appends too, an
 * empty buffer reads as "", and its text can be handed over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/strbuf.h"

static void an_empty_buffer_reads_as_empty_text(void **state)
{
    (void)state;
    struct strbuf sb = {0};
    assert_string_equal(strbuf_text(&sb), "");
    assert_int_equal(strbuf_append(&sb, ""), 0);
    assert_string_equal(strbuf_text(&sb), "");
    assert_int_equal(sb.len, 0);
    strbuf_release(&sb);
    assert_null(sb.data);
}

static void appends_keep_every_byte_across_growth(void **state)
{
    (void)state;
    for (int secret = 0; secret <= 1; secret++) {
        struct strbuf sb = {.secret = secret};
        char want[5001];
        for (int i = 0; i < 5000; i++) {
            char c = (char)('a' + i % 26);
            want[i] = c;
            assert_int_equal(strbuf_append_len(&sb, &c, 1), 0);
        }
        want[5000] = '\0';
        assert_int_equal(sb.len, 5000);
        assert_string_equal(strbuf_text(&sb), want);
        strbuf_reset(&sb);
        assert_string_equal(strbuf_text(&sb), "");
        assert_int_equal(strbuf_append(&sb, "again"), 0);
        assert_string_equal(strbuf_text(&sb), "again");
        strbuf_release(&sb);
    }
}

static void formatted_appends_add_to_the_end(void **state)
{
    (void)state;
    struct strbuf sb = {0};
    assert_int_equal(strbuf_append(&sb, "port="), 0);
    assert_int_equal(strbuf_appendf(&sb, "%d, name=%s", 4370, "app@10.0.0.1"), 0);
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(strbuf_appendf(&sb, ";%s.", big), 0);
    assert_int_equal(sb.len, strlen("port=4370, name=app@10.0.0.1;") + 999 + 1);
    assert_int_equal(strncmp(strbuf_text(&sb), "port=4370, name=app@10.0.0.1;xxx", 32), 0);
    assert_int_equal(strbuf_text(&sb)[sb.len - 1], '.');
    strbuf_release(&sb);
}

static void detaching_hands_the_text_over_and_empties_the_buffer(void **state)
{
    (void)state;
    struct strbuf sb = {.secret = true};
    size_t len = 99;
    char *text = strbuf_detach(&sb, &len); /* nothing appended: still a string */
    assert_non_null(text);
    assert_string_equal(text, "");
    assert_int_equal(len, 0);
    free(text);
    assert_int_equal(strbuf_append(&sb, "token"), 0);
    text = strbuf_detach(&sb, &len);
    assert_string_equal(text, "token");
    assert_int_equal(len, 5);
    assert_null(sb.data);
    assert_int_equal(sb.len, 0);
    assert_string_equal(strbuf_text(&sb), "");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_empty_buffer_reads_as_empty_text),
        cmocka_unit_test(appends_keep_every_byte_across_growth),
        cmocka_unit_test(formatted_appends_add_to_the_end),
        cmocka_unit_test(detaching_hands_the_text_over_and_empties_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
