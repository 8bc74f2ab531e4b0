/* With TLS distribution on, the app's BEAM must see exactly one -proto_dist and
 * -ssl_dist_optfile (ours) and no -epmd_module or -erl_epmd_port of anyone else: OTP 25's
 * net_kernel, given -proto_dist twice, starts plain TCP without a word. The guard reads every
 * source of emulator flags a BEAM of this app reads (ERL_AFLAGS, ERL_FLAGS, ERL_ZFLAGS,
 * ELIXIR_ERL_OPTIONS, a relx release's vm.args, a Mix release's vm.args, remote.vm.args and
 * env.sh, and the files their -args_file flags name, a few levels deep). A flag in something
 * we re-export or copy (the environment variables, relx's vm.args) is taken out; a flag in a
 * file we only read leaves the app unclustered. Either way one line says where and what.
 * It fails closed: an args file it cannot read to the end, or an env.sh line whose effect on
 * the flags its text cannot prove (env_sh_scan.h), leaves the app unclustered too. */
#ifndef ECB_LAUNCH_FLAG_GUARD_H
#define ECB_LAUNCH_FLAG_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/strbuf.h"

#define FLAG_GUARD_LINE_MAX 1536
#define FLAG_GUARD_ARGS_FILE_DEPTH 4 /* -args_file inside -args_file, as deep as we follow */

struct flag_guard_input {
    char *const *env;           /* the environment prepare runs in */
    const char *run_dir;        /* our own args files there are not the app's */
    enum start_style style;     /* never START_STYLE_AUTO */
    const char *release_script; /* a release's <root>/bin/<app>, or NULL */
    const char *start_command;  /* the launcher's, else NULL */
};

enum flag_guard_verdict {
    FLAG_GUARD_CLEAN,       /* nothing found */
    FLAG_GUARD_REMOVED,     /* found only where we can take it out: use guard.env */
    FLAG_GUARD_UNCLUSTERED, /* found in a file we cannot rewrite: start the app unclustered */
};

struct flag_guard {
    enum flag_guard_verdict verdict;
    char line[FLAG_GUARD_LINE_MAX]; /* REMOVED, UNCLUSTERED: where, which flag, how to fix */
    char **env; /* REMOVED: the environment with the flags taken out (owned), else NULL */
};

/* Checks every source for in. Returns 0 with *g filled, or -1 with one line in err (out of
 * memory, or a release whose files cannot be located). */
int flag_guard_check(const struct flag_guard_input *in, struct flag_guard *g, char *err,
                     size_t errlen);
void flag_guard_free(struct flag_guard *g);

/* prepare's use of the check: 0 to go on (with a REMOVED line on stderr, and g->env, when
 * not NULL, the environment to write the launch files from), 1 to leave the app unclustered
 * (the line in err), -1 failed (one line in err). */
int flag_guard_apply(const struct flag_guard_input *in, struct flag_guard *g, char *err,
                     size_t errlen);

/* Whether word is one of the guarded flags. */
bool flag_guard_is_guarded(const char *word);

/* Appends text to out without the guarded flags and their values. in_file: text is an args
 * file (a '#' starts a comment, as erlexec reads it) rather than an environment variable.
 * Returns the number of flags taken out, or -1 when out of memory. */
int flag_guard_strip(const char *text, bool in_file, struct strbuf *out);

#endif
