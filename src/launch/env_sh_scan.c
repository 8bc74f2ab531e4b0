#include "launch/env_sh_scan.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the release's BEAM takes flags from (REL_VSN_DIR locates vm.args in its script). */
static const char *const flag_sources[] = {"ERL_AFLAGS",          "ERL_FLAGS",
                                           "ERL_ZFLAGS",          "ELIXIR_ERL_OPTIONS",
                                           "RELEASE_VM_ARGS",     "RELEASE_REMOTE_VM_ARGS",
                                           "REL_VSN_DIR"};
#define APPENDABLE 4 /* the first four hold flags themselves */

/* Commands whose arguments name variables: a computed name could be any of the above. */
static const char *const naming_commands[] = {"export", "unset",  "readonly", "declare",
                                              "typeset", "local", "read",     "getopts"};

/* Words after which the next word is still a command. */
static const char *const keywords[] = {"if",   "then", "do", "else",    "elif", "while",
                                       "until", "!",   "{",  "}",       "time", "command",
                                       "builtin"};

char *env_sh_join_lines(const char *text)
{
    char *out = malloc(strlen(text) + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (const char *p = text; *p; p++) {
        if (p[0] == '\\' && p[1] == '\n')
            p++;
        else if (p[0] == '\\' && p[1] == '\r' && p[2] == '\n')
            p += 2;
        else
            *o++ = *p;
    }
    *o = '\0';
    return out;
}

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* A flag source named other than by reading it ($NAME, ${NAME...} without = or :=). */
static const char *touched_source(const char *line)
{
    for (size_t i = 0; i < sizeof flag_sources / sizeof *flag_sources; i++) {
        const char *name = flag_sources[i];
        size_t n = strlen(name);
        for (const char *p = strstr(line, name); p; p = strstr(p + 1, name)) {
            if ((p > line && ident_char(p[-1])) || ident_char(p[n]))
                continue;
            if (p > line && p[-1] == '$')
                continue;
            bool braced = p > line + 1 && p[-1] == '{' && p[-2] == '$';
            if (braced && p[n] != '=' && !(p[n] == ':' && p[n + 1] == '='))
                continue;
            return name;
        }
    }
    return NULL;
}

/* [export ]NAME="$NAME words" or "${NAME} words", the words without $ ` \ ", nothing after. */
static bool is_append(const char *t, const char **words, size_t *words_len)
{
    if (strncmp(t, "export", 6) == 0 && (t[6] == ' ' || t[6] == '\t'))
        t += 6 + strspn(t + 6, " \t");
    for (size_t i = 0; i < APPENDABLE; i++) {
        const char *name = flag_sources[i];
        size_t n = strlen(name);
        if (strncmp(t, name, n) != 0 || t[n] != '=' || t[n + 1] != '"')
            continue;
        const char *r = t + n + 2;
        if (r[0] == '$' && r[1] == '{' && strncmp(r + 2, name, n) == 0 && r[n + 2] == '}')
            r += n + 3;
        else if (r[0] == '$' && strncmp(r + 1, name, n) == 0)
            r += n + 1;
        else
            return false;
        if (*r != ' ' && *r != '\t' && *r != '"')
            return false;
        const char *end = strchr(r, '"');
        if (end == NULL || strcspn(r, "$`\\") < (size_t)(end - r))
            return false;
        const char *after = end + 1 + strspn(end + 1, " \t\r");
        if (*after != '\0')
            return false;
        *words = r;
        *words_len = (size_t)(end - r);
        return true;
    }
    return false;
}

struct tok {
    const char *s;
    size_t n;
    bool op; /* ; & | ( ) */
};

/* The next shell word or operator of line from *i, quotes kept. False at the end. */
static bool next_tok(const char *line, size_t *i, struct tok *t)
{
    size_t p = *i + strspn(line + *i, " \t\r");
    if (line[p] == '\0')
        return false;
    t->s = line + p;
    if (strchr(";&|()", line[p])) {
        t->op = true;
        t->n = 1;
        *i = p + 1;
        return true;
    }
    t->op = false;
    char quote = '\0';
    for (; line[p]; p++) {
        char c = line[p];
        if (quote == '\'') {
            if (c == '\'')
                quote = '\0';
        } else if (c == '\\' && line[p + 1]) {
            p++;
        } else if (quote == '"') {
            if (c == '"')
                quote = '\0';
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (strchr(" \t\r;&|()", c)) {
            break;
        }
    }
    t->n = (size_t)(line + p - t->s);
    *i = p;
    return true;
}

static bool tok_is(const struct tok *t, const char *word)
{
    return strlen(word) == t->n && strncmp(t->s, word, t->n) == 0;
}

static bool tok_in(const struct tok *t, const char *const *words, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (tok_is(t, words[i]))
            return true;
    return false;
}

static bool is_assignment(const struct tok *t)
{
    size_t k = 0;
    while (k < t->n && ident_char(t->s[k]))
        k++;
    return k > 0 && k < t->n && t->s[k] == '=' && !isdigit((unsigned char)t->s[0]);
}

/* '<run_dir>/file', single-quoted and nothing else: the cluster's own line in env.sh. */
static bool our_own_source(const struct tok *t, const char *run_dir)
{
    size_t n = strlen(run_dir);
    return t->n > n + 3 && t->s[0] == '\'' && t->s[t->n - 1] == '\'' &&
           strncmp(t->s + 1, run_dir, n) == 0 && t->s[n + 1] == '/' &&
           memchr(t->s + 1, '\'', t->n - 2) == NULL;
}

/* The first command of line that sources a file, runs eval or names a variable it computes. */
static bool unprovable_command(const char *line, const char *run_dir, char *why, size_t whylen)
{
    size_t i = 0;
    struct tok t;
    bool command_next = true, naming = false;
    while (next_tok(line, &i, &t)) {
        if (t.op) {
            command_next = true;
            naming = false;
        } else if (command_next) {
            if (tok_in(&t, keywords, sizeof keywords / sizeof *keywords) || is_assignment(&t))
                continue;
            if (tok_is(&t, ".") || tok_is(&t, "source")) {
                struct tok file = {0};
                if (next_tok(line, &i, &file) && !file.op && our_own_source(&file, run_dir))
                    continue;
                snprintf(why, whylen, "sources another file (%.*s %.*s)", (int)t.n, t.s,
                         (int)(file.op ? 0 : file.n), file.s ? file.s : "");
                return true;
            }
            if (tok_is(&t, "eval")) {
                snprintf(why, whylen, "runs eval");
                return true;
            }
            command_next = false;
            naming = tok_in(&t, naming_commands, sizeof naming_commands /
                                                     sizeof *naming_commands);
        } else if (naming && t.s[0] != '-') {
            size_t name_len = strcspn(t.s, "=");
            if (name_len > t.n)
                name_len = t.n;
            if (strcspn(t.s, "$`\"'\\") < name_len) {
                snprintf(why, whylen, "sets a variable whose name it computes (%.*s)",
                         (int)(t.n < 80 ? t.n : 80), t.s);
                return true;
            }
        }
    }
    return false;
}

enum env_sh_line env_sh_classify(const char *line, const char *run_dir, const char **words,
                                 size_t *words_len, char *why, size_t whylen)
{
    const char *t = line + strspn(line, " \t\r");
    if (*t == '#' || *t == '\0')
        return ENV_SH_PLAIN;
    if (is_append(t, words, words_len))
        return ENV_SH_APPEND;
    const char *name = touched_source(t);
    if (name != NULL) {
        snprintf(why, whylen, "sets, exports or unsets %s", name);
        return ENV_SH_UNPROVABLE;
    }
    return unprovable_command(t, run_dir, why, whylen) ? ENV_SH_UNPROVABLE : ENV_SH_PLAIN;
}
