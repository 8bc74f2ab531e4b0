#include "common/guid.h"

#include <ctype.h>
#include <stddef.h>

bool guid_valid(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    size_t n = sizeof groups / sizeof groups[0];
    for (size_t g = 0; g < n; g++) {
        for (int i = 0; i < groups[g]; i++, s++)
            if (!isxdigit((unsigned char)*s))
                return false;
        if (*s != (g + 1 < n ? '-' : '\0'))
            return false;
        s++;
    }
    return true;
}
