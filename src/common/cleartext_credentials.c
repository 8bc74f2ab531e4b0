#include "common/cleartext_credentials.h"

#include <stdio.h>
#include <strings.h>

static bool plain_http(const char *uri)
{
    return uri != NULL && strncasecmp(uri, "http://", 7) == 0;
}

/* The binding's name bounded and printable, so the warning stays one line. */
static void printable_name(const char *name, char *out, size_t outlen)
{
    size_t i = 0;
    for (; name[i] != '\0' && i + 1 < outlen; i++)
        out[i] = name[i] >= ' ' && name[i] < 0x7f ? name[i] : '?';
    out[i] = '\0';
}

bool cleartext_credentials_warning(const char *binding_name, const char *uri,
                                   const char *client_id, const char *access_token_uri,
                                   char *msg, size_t msglen)
{
    if (msglen > 0)
        msg[0] = '\0';
    if (client_id == NULL || *client_id == '\0')
        return false; /* no OAuth2: nothing secret is sent */
    bool secret = plain_http(access_token_uri), tokens = plain_http(uri);
    if (!secret && !tokens)
        return false;
    char name[65];
    printable_name(binding_name != NULL ? binding_name : "?", name, sizeof name);
    snprintf(msg, msglen,
             "registry binding \"%s\": %s over plain http:// (%s), readable by anyone on that "
             "network; use https:// unless the network is private",
             name,
             secret && tokens ? "the OAuth2 client secret and access tokens go"
             : secret         ? "the OAuth2 client secret goes"
                              : "access tokens go",
             secret && tokens ? "access_token_uri and uri" : secret ? "access_token_uri" : "uri");
    return true;
}
