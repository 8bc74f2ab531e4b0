/* What the flag guard can prove about a Mix release's env.sh, which the release's script
 * sources before it starts the BEAM. A text scan cannot know what a shell script computes, so
 * a line that sets, exports or unsets a variable the BEAM's flags come from, sources another
 * file or runs eval is "cannot prove". One form is provable: appending literal words,
 * `[export ]ERL_AFLAGS="$ERL_AFLAGS words"` (also ERL_FLAGS, ERL_ZFLAGS, ELIXIR_ERL_OPTIONS),
 * whose words the guard then reads as flags. RELEASE_DISTRIBUTION, RELEASE_NODE and
 * RELEASE_COOKIE are free: the cluster's release.env, sourced at the end of env.sh, sets
 * them again. */
#ifndef ECB_LAUNCH_ENV_SH_SCAN_H
#define ECB_LAUNCH_ENV_SH_SCAN_H

#include <stddef.h>

enum env_sh_line {
    ENV_SH_PLAIN,      /* touches none of them: only its text is looked at for flags */
    ENV_SH_APPEND,     /* the provable append: *words, *words_len are the literal words */
    ENV_SH_UNPROVABLE, /* why says what the line does */
};

/* Text with every backslash-newline taken out, as the shell joins lines (malloc'd; NULL when
 * out of memory). */
char *env_sh_join_lines(const char *text);

/* Classifies one line (no newline) of joined text. run_dir: a `. '<run_dir>/...'` of the
 * cluster's own file is not the app's. */
enum env_sh_line env_sh_classify(const char *line, const char *run_dir, const char **words,
                                 size_t *words_len, char *why, size_t whylen);

#endif
