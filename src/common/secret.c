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
