/* Secrets (cookie, client_secret, tokens) are wiped before their memory is given back. */
#ifndef ECB_SECRET_H
#define ECB_SECRET_H

#include <stdbool.h>

/* The longest cookie accepted; Erlang itself takes 255 characters at most. */
#define COOKIE_TEXT_MAX 255

/* Overwrites the NUL-terminated secret, then frees it; NULL is fine. */
void secret_free(char *secret);

/* A cookie Erlang accepts in ~/.erlang.cookie: 1..COOKIE_TEXT_MAX printable ASCII characters,
 * no blanks. */
bool cookie_text_valid(const char *cookie);

#endif
