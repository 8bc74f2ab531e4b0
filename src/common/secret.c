#include "common/secret.h"

#include <stdlib.h>
#include <string.h>

void secret_free(char *secret)
{
    if (secret != NULL) {
        explicit_bzero(secret, strlen(secret));
        free(secret);
    }
}

bool cookie_text_valid(const char *cookie)
{
    size_t len = strlen(cookie);
    if (len == 0 || len > COOKIE_TEXT_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)cookie[i] <= ' ' || (unsigned char)cookie[i] >= 0x7f)
            return false;
    return true;
}
