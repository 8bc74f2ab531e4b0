/* Text as messages and shell scripts need it: outside input shown safely in one line, and
 * values quoted as shell words. */
#ifndef ECB_TEXT_H
#define ECB_TEXT_H

#include <stddef.h>

#include "common/strbuf.h"

/* Copies text into out as a message may show it: at most max_chars characters (and what
 * fits in outlen with the ending), every byte outside printable ASCII replaced by '?', and
 * "..." when cut, so that a name from the environment or the network can neither break nor
 * forge a log line. */
void text_shown(const char *text, size_t max_chars, char *out, size_t outlen);

/* Appends text as one POSIX shell word in single quotes: nothing in it is ever expanded. */
int shell_quote_append(struct strbuf *sb, const char *text);

/* Appends text as one shell word, bare when it holds only A-Z a-z 0-9 . _ - (so that a
 * printed command reads naturally), else quoted as shell_quote_append does. */
int shell_word_append(struct strbuf *sb, const char *text);

#endif
