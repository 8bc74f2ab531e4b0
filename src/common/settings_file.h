/* The two YAML files configuration comes from (read and written with libyaml):
 *  - the buildpack's manifest.yml: `language`, `version` and a `defaults:` map of
 *    ERLANG_CLUSTER_* values (plus packaging keys this code does not need);
 *  - the droplet's deps/IDX/config.yml, in libbuildpack's `{name, version, config}` shape,
 *    whose `config` holds `env` (the ERLANG_CLUSTER_* values seen at staging) and `defaults`.
 * Value arrays are indexed by enum config_field; NULL means not set. */
#ifndef ECB_SETTINGS_FILE_H
#define ECB_SETTINGS_FILE_H

#include <stddef.h>

#include "common/config_fields.h"

struct settings_file {
    char *name;                      /* manifest `language`, config.yml `name` */
    char *version;
    char *env[FIELD_COUNT];          /* config.yml only */
    char *defaults[FIELD_COUNT];
};

/* A setting may not be ERLANG_CLUSTER_COOKIE in either file: it would be a secret shared by
 * every app (manifest) or stored outside the cookie file (config.yml). */
int manifest_read(const char *path, struct settings_file *out, char *err, size_t errlen);
int staged_config_read(const char *path, struct settings_file *out, char *err, size_t errlen);
int staged_config_write(const char *path, const struct settings_file *in, char *err,
                        size_t errlen);
void settings_file_free(struct settings_file *file);

#endif
