/* Inside the configuration (config*.c only): every input gathered into layers, and the one
 * rule that picks a field's value from them (the precedence described in config.h). */
#ifndef ECB_CONFIG_LAYERS_H
#define ECB_CONFIG_LAYERS_H

#include "common/config.h"
#include "common/settings_file.h"

/* Everything resolution reads, gathered first so that each field is then one lookup. */
struct config_layers {
    const struct config_inputs *in;
    char *env[FIELD_COUNT];      /* trimmed, NULL when unset or empty */
    struct settings_file staged; /* config.yml (run time) */
    struct settings_file manifest;
    const char *defaults_path;   /* the file default values came from */
};

/* The value a field resolves to before validation, and how to name it in a message. */
struct picked {
    const char *value;
    enum config_source source;
    char origin[320];
};

/* Reads the environment's ERLANG_CLUSTER_* values and the manifest or config.yml. On error
 * err names the file; config_layers_free is safe either way. */
int config_layers_load(const struct config_inputs *in, struct config_layers *l, char *err,
                       size_t errlen);
void config_layers_free(struct config_layers *l);

/* The field's value by precedence: environment, staging environment, defaults, built-in. */
void config_pick(const struct config_layers *l, enum config_field f, struct picked *p);

/* The default in effect for a field (the manifest's, else config.yml's), or NULL. */
const char *config_layers_default(const struct config_layers *l, enum config_field f);

/* The value of NAME in a NULL-terminated "NAME=value" array, or NULL. */
const char *config_env_lookup(char *const *env, const char *name);

#endif
