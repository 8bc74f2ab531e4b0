/* Token endpoint answers: a token is accepted only when present, bearer and with a positive
 * lifetime, and the refresh time computed from any accepted lifetime is in the future. */
#include <stdint.h>
#include <stdlib.h>

#include "discovery/oauth.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_cstring(data, size);
    char *token = NULL;
    long expires_in = 0;
    char err[512] = "";
    if (oauth_parse_token_response(body, &token, &expires_in, err, sizeof err) == 0) {
        if (token == NULL || token[0] == '\0' || expires_in <= 0)
            fuzz_fail("accepted a token answer without a token or a positive lifetime");
        /* A realistic clock: 2030-01-01 in milliseconds. */
        const int64_t now_ms = INT64_C(1893456000000);
        if (oauth_refresh_at(now_ms, expires_in) <= now_ms)
            fuzz_fail("refresh time for a %ld s token is not in the future", expires_in);
        free(token);
    } else {
        fuzz_check_message("oauth_parse_token_response", err);
        if (token != NULL)
            fuzz_fail("a rejected token answer left a token behind");
    }
    free(body);
    return 0;
}
