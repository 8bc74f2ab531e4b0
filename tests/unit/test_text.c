/* Shared text helpers: outside input shown in one bounded printable line, shell quoting that
 * a real shell reads back verbatim, environment lookup and error lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/env.h"
#include "common/error.h"
#include "common/text.h"

static void shown_text_is_printable_and_bounded(void **state)
{
    (void)state;
    char out[80];
    text_shown("plain-name", 64, out, sizeof out);
    assert_string_equal(out, "plain-name");
    text_shown("line\nforged\x1b[31m\xc3\xa9", 64, out, sizeof out);
    assert_string_equal(out, "line?forged?[31m??");
    text_shown("abcdefghij", 4, out, sizeof out);
    assert_string_equal(out, "abcd...");
    /* A small buffer bounds it too, and still says it was cut. */
    char small[8];
    text_shown("abcdefghij", 64, small, sizeof small);
    assert_string_equal(small, "abcd...");
    text_shown("abcd", 64, small, sizeof small);
    assert_string_equal(small, "abcd");
}

/* What `sh` makes of the quoted word: printf '%s' WORD. */
static char *shell_reads(const char *word)
{
    struct strbuf cmd = {0};
    assert_int_equal(strbuf_append(&cmd, "printf '%s' "), 0);
    assert_int_equal(strbuf_append(&cmd, word), 0);
    FILE *sh = popen(strbuf_text(&cmd), "r");
    assert_non_null(sh);
    static char got[512];
    size_t n = fread(got, 1, sizeof got - 1, sh);
    got[n] = '\0';
    assert_int_equal(pclose(sh), 0);
    strbuf_release(&cmd);
    return got;
}

static void quoted_words_reach_the_shell_verbatim(void **state)
{
    (void)state;
    static const char *const values[] = {"plain", "it's", "$(id) `id` $HOME \\ \"q\"",
                                         "''", "a b\tc", ""};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        struct strbuf q = {0}, w = {0};
        assert_int_equal(shell_quote_append(&q, values[i]), 0);
        assert_int_equal(shell_word_append(&w, values[i]), 0);
        assert_string_equal(shell_reads(strbuf_text(&q)), values[i]);
        assert_string_equal(shell_reads(strbuf_text(&w)), values[i]);
        strbuf_release(&q);
        strbuf_release(&w);
    }
    struct strbuf w = {0};
    assert_int_equal(shell_word_append(&w, "my-app_1.2"), 0);
    assert_string_equal(strbuf_text(&w), "my-app_1.2"); /* bare when it can be */
    strbuf_release(&w);
}

static void env_lookup_finds_whole_names_only(void **state)
{
    (void)state;
    char *env[] = {"HOMEDIR=/x", "HOME=/home/vcap", "EMPTY=", NULL};
    assert_string_equal(env_lookup(env, "HOME"), "/home/vcap");
    assert_string_equal(env_lookup(env, "EMPTY"), "");
    assert_null(env_lookup(env, "HOM"));
    assert_null(env_lookup(env, "TMPDIR"));
    assert_null(env_lookup(NULL, "HOME"));
}

static void set_error_writes_one_line_and_fails(void **state)
{
    (void)state;
    char err[16];
    assert_int_equal(set_error(err, sizeof err, "%s is %d", "port", 70000), -1);
    assert_string_equal(err, "port is 70000");
    assert_int_equal(set_error(err, sizeof err, "a much longer line than fits"), -1);
    assert_string_equal(err, "a much longer l");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shown_text_is_printable_and_bounded),
        cmocka_unit_test(quoted_words_reach_the_shell_verbatim),
        cmocka_unit_test(env_lookup_finds_whole_names_only),
        cmocka_unit_test(set_error_writes_one_line_and_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
