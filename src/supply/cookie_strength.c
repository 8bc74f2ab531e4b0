#include "supply/cookie_strength.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MIN_DISTINCT 12

/* log2 of the pool sizes class_pool can give, in hundredths (no libm for one number). */
static int log2_hundredths(int pool)
{
    static const struct {
        int pool, log2;
    } table[] = {{10, 332}, {26, 470}, {32, 500}, {36, 517}, {42, 539}, {52, 570},
                 {58, 586}, {62, 595}, {68, 609}, {84, 639}, {94, 655}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (table[i].pool == pool)
            return table[i].log2;
    return 0;
}

/* Printable ASCII without the blank, in the classes a guesser enumerates separately. */
static int class_pool(const char *cookie)
{
    bool lower = false, upper = false, digit = false, other = false;
    for (const char *p = cookie; *p; p++) {
        unsigned char c = (unsigned char)*p;
        lower |= islower(c) != 0;
        upper |= isupper(c) != 0;
        digit |= isdigit(c) != 0;
        other |= !isalnum(c);
    }
    return 26 * lower + 26 * upper + 10 * digit + 32 * other;
}

static size_t distinct_characters(const char *cookie)
{
    bool seen[256] = {false};
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)cookie; *p; p++)
        if (!seen[*p]) {
            seen[*p] = true;
            n++;
        }
    return n;
}

/* Adjacent pairs that repeat or step by one (aa, ab, ba, 12): a third of them is a pattern
 * (random text over 62 characters has some 5 %). */
static bool mostly_runs(const char *cookie, size_t len)
{
    size_t steps = 0;
    for (size_t i = 1; i < len; i++) {
        int d = (unsigned char)cookie[i] - (unsigned char)cookie[i - 1];
        if (d >= -1 && d <= 1)
            steps++;
    }
    return len > 1 && steps * 3 > len - 1;
}

static const char *guessed_word(const char *cookie)
{
    static const char *const words[] = {"cookie", "secret", "passw", "changeme", "erlang",
                                        "elixir", "phoenix", "cluster", "default", "qwerty",
                                        "letmein", "admin", "test"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasestr(cookie, words[i]) != NULL)
            return words[i];
    return NULL;
}

const char *cookie_weakness(const char *cookie, char *why, size_t whylen)
{
    size_t len = strlen(cookie);
    int pool = class_pool(cookie);
    size_t bits = len * (size_t)log2_hundredths(pool) / 100;
    const char *word = guessed_word(cookie);
    if (bits < COOKIE_STRONG_BITS)
        snprintf(why, whylen, "%zu characters drawn from %d possible ones give about %zu bits, "
                 "under %d", len, pool, bits, COOKIE_STRONG_BITS);
    else if (distinct_characters(cookie) < MIN_DISTINCT)
        snprintf(why, whylen, "it uses fewer than %d different characters", MIN_DISTINCT);
    else if (mostly_runs(cookie, len))
        snprintf(why, whylen, "it is mostly repeated or consecutive characters");
    else if (word != NULL)
        snprintf(why, whylen, "it contains a word guessers try first (\"%s\")", word);
    else
        return NULL;
    return why;
}
