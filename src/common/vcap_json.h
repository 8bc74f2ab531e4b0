/* Inside the VCAP parsers (vcap*.c only): the JSON and message helpers they share. */
#ifndef ECB_VCAP_JSON_H
#define ECB_VCAP_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* NULL or empty. */
bool vcap_blank(const char *s);

/* A name from VCAP_SERVICES or the environment as a message shows it: bounded, with control
 * and non-ASCII bytes replaced by '?', so that an error stays one readable line. */
struct shown_name {
    char text[72];
};
struct shown_name vcap_shown(const char *name);

/* "WHAT: out of memory" into err. Returns -1. */
int vcap_out_of_memory(char *err, size_t errlen, const char *what);

/* A member that must be a string when present. *out stays NULL when absent or JSON null. */
int vcap_optional_string(const cJSON *object, const char *key, const char *where, char **out,
                         char *err, size_t errlen);

#endif
