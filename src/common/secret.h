/* Secrets (cookie, client_secret, tokens) are wiped before their memory is given back. */
#ifndef ECB_SECRET_H
#define ECB_SECRET_H

/* Overwrites the NUL-terminated secret, then frees it; NULL is fine. */
void secret_free(char *secret);

#endif
