#include "launch/flag_guard.h"

#include "common/env.h"
#include "common/error.h"
#include "launch/env_sh_scan.h"
#include "launch/guard_source.h"
#include "launch/relx_vm_args.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *const guarded_flags[] = {"-proto_dist", "-ssl_dist_optfile", "-epmd_module",
                                            "-erl_epmd_port"};

/* The variables every BEAM started from this environment reads, which we re-export. */
static const char *const flag_variables[] = {"ERL_AFLAGS", "ERL_FLAGS", "ERL_ZFLAGS",
                                             "ELIXIR_ERL_OPTIONS"};

bool flag_guard_is_guarded(const char *word)
{
    for (size_t i = 0; i < sizeof guarded_flags / sizeof *guarded_flags; i++)
        if (strcmp(word, guarded_flags[i]) == 0)
            return true;
    return false;
}

/* One word of an args file or flag variable as erlexec splits it: blanks separate words,
 * quotes and a backslash protect, and in a file an unquoted '#' runs to the end of the line.
 * Sets *start and *end to the word's bytes in text and word to its unquoted value. Returns false
 * at the end of text. */
static bool next_word(const char *text, size_t *pos, bool in_file, struct strbuf *word,
                      size_t *start, size_t *end, int *rc)
{
    size_t i = *pos;
    for (;;) {
        while (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')
            i++;
        if (in_file && text[i] == '#') {
            while (text[i] && text[i] != '\n')
                i++;
            continue;
        }
        break;
    }
    if (text[i] == '\0') {
        *pos = i;
        return false;
    }
    strbuf_reset(word);
    *start = i;
    char quote = '\0';
    for (; text[i]; i++) {
        char c = text[i];
        if (quote) {
            if (c == quote)
                quote = '\0';
            else
                *rc |= strbuf_append_len(word, &c, 1);
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '\\' && text[i + 1]) {
            *rc |= strbuf_append_len(word, &text[++i], 1);
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || (in_file && c == '#')) {
            break;
        } else {
            *rc |= strbuf_append_len(word, &c, 1);
        }
    }
    *end = *pos = i;
    *rc |= strbuf_append(word, ""); /* an empty quoted word still has text */
    return true;
}

/* A flag's values: the words after it up to the next flag, as init collects them. */
static bool is_value(const char *word)
{
    return word[0] != '-' && word[0] != '+';
}

int flag_guard_strip(const char *text, bool in_file, struct strbuf *out)
{
    struct strbuf word = {0};
    size_t pos = 0, copied = 0, start, end;
    int rc = 0, removed = 0;
    bool dropping = false;
    while (next_word(text, &pos, in_file, &word, &start, &end, &rc)) {
        const char *w = strbuf_text(&word);
        if (flag_guard_is_guarded(w)) {
            dropping = true;
            removed++;
            rc |= strbuf_append_len(out, text + copied, start - copied);
        } else if (!dropping || !is_value(w)) {
            dropping = false;
            continue;
        } /* else still the removed flag's value, and the blanks before it go too */
        copied = end;
    }
    rc |= strbuf_append(out, text + copied);
    strbuf_release(&word);
    return rc ? -1 : removed;
}

/* What the scan found: the first finding of each kind, and how many in all. */
struct findings {
    char first_removed[FLAG_GUARD_LINE_MAX];
    char first_fatal[FLAG_GUARD_LINE_MAX];
    int removed, fatal;
};

struct scan {
    const struct flag_guard_input *in;
    struct findings *found;
    char base_dir[PATH_MAX]; /* the cwd erlexec resolves a relative -args_file from */
    int rc;                  /* -1 once out of memory */
};

static void note(char *first, int *count, const char *fmt, const char *where, const char *flag,
                 const char *value, const char *fix)
{
    /* A line cut short still says where and what first. */
    if ((*count)++ == 0 && snprintf(first, FLAG_GUARD_LINE_MAX, fmt, where, flag, value, fix) < 0)
        first[0] = '\0';
}

/* A finding that leaves the app unclustered, in words of its own. */
__attribute__((format(printf, 2, 3))) static void fatal(struct scan *s, const char *fmt, ...)
{
    if (s->found->fatal++ > 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->found->first_fatal, FLAG_GUARD_LINE_MAX, fmt, ap);
    va_end(ap);
}

#define FATAL_FMT                                                                                 \
    "%s has %s%s, and with ERLANG_CLUSTER_TLS the cluster sets the distribution flags itself: "   \
    "given twice, OTP runs distribution in clear text or ignores the flag; the app starts "       \
    "unclustered. %s"
#define REMOVED_FMT                                                                               \
    "%s has %s%s: taken out for this start, because with ERLANG_CLUSTER_TLS the cluster sets "    \
    "the distribution flags itself (given twice, OTP runs distribution in clear text or "         \
    "ignores the flag). %s"
#define UNREAD_FMT                                                                                \
    "%s names -args_file %s, which the cluster cannot read to the end (%s); with "                \
    "ERLANG_CLUSTER_TLS every flag the app's BEAM gets must be checked, so the app starts "       \
    "unclustered. Make it a readable regular file of at most %d KiB, at most %d -args_file "      \
    "deep, or remove that -args_file."

static bool our_own_file(const struct scan *s, const char *path)
{
    size_t n = strlen(s->in->run_dir);
    return strncmp(path, s->in->run_dir, n) == 0 && path[n] == '/';
}

static void scan_text(struct scan *s, const char *text, bool in_file, const char *where,
                      bool removable, const char *fix, int depth);

/* A path as erlexec opens it: a relative one from the directory the BEAM starts in. */
static int resolve(const struct scan *s, const char *name, char *buf, size_t buflen)
{
    int n = name[0] == '/' ? snprintf(buf, buflen, "%s", name)
                           : snprintf(buf, buflen, "%s/%s", s->base_dir, name);
    return n < 0 || (size_t)n >= buflen ? -1 : 0;
}

/* An -args_file a source (where) names: its flags cannot be taken out of a copy we make, and
 * one we cannot read to the end could hold any flag. A relative path is erlexec's: from the
 * directory the BEAM starts in. */
static void scan_args_file(struct scan *s, const char *where, const char *name, int depth)
{
    char path[PATH_MAX], why[128];
    if (resolve(s, name, path, sizeof path) != 0) {
        fatal(s, UNREAD_FMT, where, name, "path too long", GUARD_ARGS_FILE_MAX / 1024,
              FLAG_GUARD_ARGS_FILE_DEPTH);
        return;
    }
    if (our_own_file(s, path))
        return;
    if (depth > FLAG_GUARD_ARGS_FILE_DEPTH) {
        fatal(s, UNREAD_FMT, where, path, "nested deeper than the limit", GUARD_ARGS_FILE_MAX / 1024,
              FLAG_GUARD_ARGS_FILE_DEPTH);
        return;
    }
    char *text = NULL;
    if (guard_read_args_file(path, &text, why, sizeof why) != 0) {
        fatal(s, UNREAD_FMT, where, path, why, GUARD_ARGS_FILE_MAX / 1024,
              FLAG_GUARD_ARGS_FILE_DEPTH);
        return;
    }
    char fix[PATH_MAX + 64];
    snprintf(fix, sizeof fix, "Remove it from %s.", path);
    scan_text(s, text, true, path, false, fix, depth + 1);
    free(text);
}

static void scan_text(struct scan *s, const char *text, bool in_file, const char *where,
                      bool removable, const char *fix, int depth)
{
    struct strbuf word = {0};
    size_t pos = 0, start, end;
    bool args_file_next = false;
    while (next_word(text, &pos, in_file, &word, &start, &end, &s->rc)) {
        const char *w = strbuf_text(&word);
        if (args_file_next) {
            args_file_next = false;
            scan_args_file(s, where, w, depth);
        }
        if (strcmp(w, "-args_file") == 0) {
            args_file_next = true;
        } else if (flag_guard_is_guarded(w)) {
            char flag[64], value[96] = "";
            snprintf(flag, sizeof flag, "%s", w);
            size_t vpos = pos;
            if (next_word(text, &vpos, in_file, &word, &start, &end, &s->rc) &&
                is_value(strbuf_text(&word)))
                snprintf(value, sizeof value, " %.80s", strbuf_text(&word));
            if (removable)
                note(s->found->first_removed, &s->found->removed, REMOVED_FMT, where, flag,
                     value, fix);
            else
                note(s->found->first_fatal, &s->found->fatal, FATAL_FMT, where, flag, value,
                     fix);
        }
    }
    strbuf_release(&word);
}

/* A Mix release's env.sh: the script sources it, so what it does to the flag variables, or a
 * file it sources, decides the BEAM's flags. Lines the text scan cannot prove harmless
 * (env_sh_scan.h) leave the app unclustered; the one provable append has its words read. */
static void scan_env_sh(struct scan *s, const char *path, const char *text)
{
    const char *fix = "Remove it from rel/env.sh.eex and push again.";
    char *joined = env_sh_join_lines(text);
    if (joined == NULL) {
        s->rc = -1;
        return;
    }
    int number = 0;
    for (char *line = joined, *nl; line; line = nl ? nl + 1 : NULL) {
        number++;
        if ((nl = strchr(line, '\n')) != NULL)
            *nl = '\0';
        const char *words = NULL;
        size_t words_len = 0;
        char why[160];
        enum env_sh_line kind =
            env_sh_classify(line, s->in->run_dir, &words, &words_len, why, sizeof why);
        if (kind == ENV_SH_APPEND) {
            char *copy = strndup(words, words_len);
            if (copy == NULL)
                s->rc = -1;
            else
                scan_text(s, copy, false, path, false, fix, 1);
            free(copy);
            continue;
        }
        const char *t = line + strspn(line, " \t");
        int before = s->found->fatal; /* one finding a line: the flag, else what it does */
        for (size_t i = 0; *t != '#' && i < sizeof guarded_flags / sizeof *guarded_flags; i++)
            if (guard_text_has_flag(t, guarded_flags[i]))
                note(s->found->first_fatal, &s->found->fatal, FATAL_FMT, path,
                     guarded_flags[i], "", fix);
        if (kind == ENV_SH_UNPROVABLE && s->found->fatal == before)
            fatal(s, "%s line %d %s: with ERLANG_CLUSTER_TLS the cluster must know every flag "
                  "the app's BEAM gets, and a shell script's result cannot be proved from its "
                  "text, so the app starts unclustered. In rel/env.sh.eex only append literal "
                  "words (export ERL_AFLAGS=\"$ERL_AFLAGS -kernel ...\"), or set the variable "
                  "with cf set-env instead, and push again.", path, number, why);
    }
    free(joined);
}

/* One file of a release: scanned as an args file, or as env.sh. Missing is fine (a release
 * without remote.vm.args, an env.sh that was never generated); there but not readable to the
 * end is not: it could hold any flag. */
static void scan_release_file(struct scan *s, const char *name, bool is_env_sh, const char *fix)
{
    char path[PATH_MAX], why[128], *text = NULL;
    int rc = resolve(s, name, path, sizeof path) != 0
                 ? (snprintf(why, sizeof why, "path too long"), -1)
                 : guard_read_args_file(path, &text, why, sizeof why);
    if (rc == 1)
        return;
    if (rc != 0) {
        fatal(s, "%s cannot be read to the end (%s): with ERLANG_CLUSTER_TLS every flag the "
              "app's BEAM gets must be checked, so the app starts unclustered. Make it a "
              "readable regular file of at most %d KiB.", path, why, GUARD_ARGS_FILE_MAX / 1024);
        return;
    }
    if (is_env_sh)
        scan_env_sh(s, path, text);
    else
        scan_text(s, text, true, path, false, fix, 1);
    free(text);
}

/* A Mix release reads releases/VSN/vm.args (or $RELEASE_VM_ARGS), remote.vm.args for
 * `remote`, and sources env.sh; VSN is start_erl.data's second word, as its script takes it. */
static int scan_mix_release(struct scan *s, char *err, size_t errlen)
{
    char vm_args[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 32];
    char *none[] = {NULL}; /* the release's own vm.args, not $VMARGS_PATH */
    if (relx_source_vm_args(s->in->release_script, none, vm_args, sizeof vm_args, err,
                            errlen) != 0)
        return -1;
    snprintf(dir, sizeof dir, "%s", vm_args);
    *strrchr(dir, '/') = '\0';
    const char *user_vm_args = env_lookup(s->in->env, "RELEASE_VM_ARGS");
    const char *user_remote = env_lookup(s->in->env, "RELEASE_REMOTE_VM_ARGS");
    scan_release_file(s, user_vm_args && *user_vm_args ? user_vm_args : vm_args, false,
                      "Remove it from rel/vm.args.eex and push again.");
    snprintf(path, sizeof path, "%s/remote.vm.args", dir);
    scan_release_file(s, user_remote && *user_remote ? user_remote : path, false,
                      "Remove it from rel/remote.vm.args.eex and push again.");
    snprintf(path, sizeof path, "%s/env.sh", dir);
    scan_release_file(s, path, true, NULL);
    return 0;
}

/* A relx release's vm.args: we write the node's copy (relx_vm_args.c) without the flags. */
static int scan_relx(struct scan *s, char *err, size_t errlen)
{
    char source[PATH_MAX];
    if (relx_source_vm_args(s->in->release_script, s->in->env, source, sizeof source, err,
                            errlen) != 0)
        return -1;
    if (our_own_file(s, source))
        return 0;
    char *text = NULL, why[128];
    if (guard_read_args_file(source, &text, why, sizeof why) != 0) {
        fatal(s, "%s, the release's vm.args, cannot be read to the end (%s): with "
              "ERLANG_CLUSTER_TLS every flag the app's BEAM gets must be checked, so the app "
              "starts unclustered. Make it a readable regular file of at most %d KiB.",
              source, why, GUARD_ARGS_FILE_MAX / 1024);
        return 0;
    }
    char fix[PATH_MAX + 64];
    snprintf(fix, sizeof fix, "Remove it from %s (config/vm.args in the rebar3 project).",
             source);
    scan_text(s, text, true, source, true, fix, 1);
    free(text);
    return 0;
}

/* The environment with the flags taken out of the flag variables: a copy of in->env with
 * changed entries replaced, into g->env. */
static int scan_variables(struct scan *s, struct flag_guard *g)
{
    size_t n = 0;
    while (s->in->env[n])
        n++;
    g->env = calloc(n + 1, sizeof *g->env);
    if (g->env == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *entry = s->in->env[i];
        const char *eq = strchr(entry, '=');
        g->env[i] = NULL;
        for (size_t v = 0; eq && v < sizeof flag_variables / sizeof *flag_variables; v++) {
            const char *name = flag_variables[v];
            if ((size_t)(eq - entry) != strlen(name) || strncmp(entry, name, eq - entry) != 0)
                continue;
            char fix[128];
            snprintf(fix, sizeof fix, "Take it out of %s (cf set-env, or the manifest's env) "
                                      "to silence this.", name);
            scan_text(s, eq + 1, false, name, true, fix, 1);
            struct strbuf kept = {0};
            int removed = strbuf_appendf(&kept, "%s=", name) != 0
                              ? -1 : flag_guard_strip(eq + 1, false, &kept);
            if (removed < 0) {
                strbuf_release(&kept);
                return -1;
            }
            g->env[i] = strbuf_detach(&kept, NULL);
        }
        if (g->env[i] == NULL && (g->env[i] = strdup(entry)) == NULL)
            return -1;
    }
    return 0;
}

/* The start command itself: we cannot rewrite it. */
static void scan_start_command(struct scan *s)
{
    const char *command = s->in->start_command;
    for (size_t i = 0; command && i < sizeof guarded_flags / sizeof *guarded_flags; i++)
        if (guard_text_has_flag(command, guarded_flags[i]))
            note(s->found->first_fatal, &s->found->fatal, FATAL_FMT, "the start command",
                 guarded_flags[i], "", "Remove it from the start command (manifest command, "
                 "Procfile or cf push -c).");
}

int flag_guard_check(const struct flag_guard_input *in, struct flag_guard *g, char *err,
                     size_t errlen)
{
    memset(g, 0, sizeof *g);
    struct findings found = {0};
    struct scan s = {.in = in, .found = &found};
    if (guard_start_dir(in, s.base_dir, sizeof s.base_dir, err, errlen) != 0)
        return -1;
    if (scan_variables(&s, g) != 0 || s.rc != 0) {
        flag_guard_free(g);
        return set_error(err, errlen, "out of memory checking the distribution flags");
    }
    scan_start_command(&s);
    int rc = 0;
    if (in->release_script != NULL && in->style == START_STYLE_MIX_RELEASE)
        rc = scan_mix_release(&s, err, errlen);
    else if (in->release_script != NULL && in->style == START_STYLE_RELX)
        rc = scan_relx(&s, err, errlen);
    if (rc == 0 && s.rc != 0)
        rc = set_error(err, errlen, "out of memory checking the distribution flags");
    if (rc != 0) {
        flag_guard_free(g);
        return -1;
    }
    const char *first = found.fatal ? found.first_fatal : found.first_removed;
    int count = found.fatal + found.removed;
    if (count == 0) {
        flag_guard_free(g);
        return 0;
    }
    g->verdict = found.fatal ? FLAG_GUARD_UNCLUSTERED : FLAG_GUARD_REMOVED;
    /* A line cut short still says where and what (the first finding's text leads). */
    if (count > 1)
        snprintf(g->line, sizeof g->line, "%.1400s (%d more such flags found.)", first,
                 count - 1);
    else
        snprintf(g->line, sizeof g->line, "%.1500s", first);
    if (g->verdict == FLAG_GUARD_UNCLUSTERED)
        flag_guard_free(g); /* nothing of the environment is used */
    return 0;
}

void flag_guard_free(struct flag_guard *g)
{
    for (char **e = g->env; e && *e; e++)
        free(*e);
    free(g->env);
    g->env = NULL;
}

int flag_guard_apply(const struct flag_guard_input *in, struct flag_guard *g, char *err,
                     size_t errlen)
{
    if (flag_guard_check(in, g, err, errlen) != 0)
        return -1;
    if (g->verdict == FLAG_GUARD_UNCLUSTERED) {
        set_error(err, errlen, "erlang-cluster: %s", g->line);
        return 1;
    }
    if (g->verdict == FLAG_GUARD_REMOVED && fprintf(stderr, "erlang-cluster: %s\n", g->line) < 0)
        return set_error(err, errlen, "cannot write to stderr");
    return 0;
}
