#include "common/config_layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config_values.h"

static char *trimmed_copy(const char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
                       text[len - 1] == '\r'))
        len--;
    return strndup(text, len);
}

const char *config_env_lookup(char *const *env, const char *name)
{
    if (env == NULL)
        return NULL;
    size_t len = strlen(name);
    for (char *const *p = env; *p != NULL; p++)
        if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
            return *p + len + 1;
    return NULL;
}

void config_layers_free(struct config_layers *l)
{
    for (int f = 0; f < FIELD_COUNT; f++)
        free(l->env[f]);
    settings_file_free(&l->staged);
    settings_file_free(&l->manifest);
}

int config_layers_load(const struct config_inputs *in, struct config_layers *l, char *err,
                       size_t errlen)
{
    memset(l, 0, sizeof *l);
    l->in = in;
    for (int f = 0; f < FIELD_COUNT; f++) {
        const char *raw = config_env_lookup(in->env, config_field_variable(f));
        if (raw == NULL)
            continue;
        l->env[f] = trimmed_copy(raw);
        if (l->env[f] == NULL)
            return config_fail(err, errlen, "configuration: out of memory");
        if (l->env[f][0] == '\0') {
            free(l->env[f]);
            l->env[f] = NULL;
        }
    }
    if (in->manifest_path != NULL) {
        l->defaults_path = in->manifest_path;
        if (manifest_read(in->manifest_path, &l->manifest, err, errlen) != 0)
            return -1;
    }
    if (in->staged_config_path != NULL) {
        l->defaults_path = in->staged_config_path;
        if (staged_config_read(in->staged_config_path, &l->staged, err, errlen) != 0)
            return -1;
    }
    return 0;
}

const char *config_layers_default(const struct config_layers *l, enum config_field f)
{
    return l->manifest.defaults[f] != NULL ? l->manifest.defaults[f] : l->staged.defaults[f];
}

void config_pick(const struct config_layers *l, enum config_field f, struct picked *p)
{
    const char *var = config_field_variable(f);
    memset(p, 0, sizeof *p);
    if (l->env[f] != NULL) {
        p->value = l->env[f];
        p->source = SOURCE_ENV;
        snprintf(p->origin, sizeof p->origin, "%s", var);
    } else if (l->staged.env[f] != NULL) {
        p->value = l->staged.env[f];
        p->source = SOURCE_STAGING_ENV;
        snprintf(p->origin, sizeof p->origin, "%s (set at staging, in %s)", var,
                 l->in->staged_config_path);
    } else if (config_layers_default(l, f) != NULL) {
        p->value = config_layers_default(l, f);
        p->source = SOURCE_MANIFEST;
        snprintf(p->origin, sizeof p->origin, "%s: defaults.%s", l->defaults_path, var);
    } else {
        p->value = config_field_builtin(f);
        p->source = SOURCE_BUILTIN;
        snprintf(p->origin, sizeof p->origin, "%s", var);
    }
}
