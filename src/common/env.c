#include "common/env.h"

#include <string.h>

const char *env_lookup(char *const *env, const char *name)
{
    if (env == NULL)
        return NULL;
    size_t len = strlen(name);
    for (char *const *p = env; *p != NULL; p++)
        if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
            return *p + len + 1;
    return NULL;
}
