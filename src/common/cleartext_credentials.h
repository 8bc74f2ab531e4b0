/* Registry credentials that would cross the network in clear text. Staging and the agent
 * both say so (a registry reached over the platform's internal network may legitimately be
 * http://, so neither refuses it). */
#ifndef ECB_CLEARTEXT_CREDENTIALS_H
#define ECB_CLEARTEXT_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

/* For a binding that takes OAuth2 (client_id set): the client secret goes to
 * access_token_uri and the access tokens to uri. When either is http://, writes one sentence
 * naming the binding, what goes over plain http:// and the key that says so, and returns
 * true; else returns false and leaves msg empty. Never includes a credential. */
bool cleartext_credentials_warning(const char *binding_name, const char *uri,
                                   const char *client_id, const char *access_token_uri,
                                   char *msg, size_t msglen);

#endif
