/* The one way a function reports failure in words: one line in the caller's err buffer. */
#ifndef ECB_ERROR_H
#define ECB_ERROR_H

#include <stddef.h>

/* Formats one line into err (cut short when it does not fit: still one clear line) and
 * returns -1, so that a failure reads `return set_error(err, errlen, ...);`. */
__attribute__((format(printf, 3, 4)))
int set_error(char *err, size_t errlen, const char *fmt, ...);

#endif
