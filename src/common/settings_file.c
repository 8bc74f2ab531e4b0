#include "common/settings_file.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/fsutil.h"

#define SETTINGS_FILE_MAX_BYTES (1024u * 1024u)

void settings_file_free(struct settings_file *file)
{
    free(file->name);
    free(file->version);
    for (int i = 0; i < FIELD_COUNT; i++) {
        free(file->env[i]);
        free(file->defaults[i]);
    }
    memset(file, 0, sizeof *file);
}

static const char *scalar_text(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

/* Loads the file into doc; the root must be a mapping. */
static int load_document(const char *path, yaml_document_t *doc, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (fs_read_file(path, SETTINGS_FILE_MAX_BYTES, &text, &len, err, errlen) != 0)
        return -1;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: cannot initialise the YAML parser", path);
        free(text);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = 0;
    if (!yaml_parser_load(&parser, doc)) {
        snprintf(err, errlen, "%s: not valid YAML: %s at line %zu", path,
                 parser.problem != NULL ? parser.problem : "parse error",
                 parser.problem_mark.line + 1);
        rc = -1;
    } else {
        yaml_node_t *root = yaml_document_get_root_node(doc);
        if (root == NULL || root->type != YAML_MAPPING_NODE) {
            snprintf(err, errlen, "%s: must be a YAML mapping (key: value lines)", path);
            yaml_document_delete(doc);
            rc = -1;
        }
    }
    yaml_parser_delete(&parser);
    free(text);
    return rc;
}

static int copy_scalar(const char *path, const char *key, const yaml_node_t *value, char **out,
                       char *err, size_t errlen)
{
    if (value->type != YAML_SCALAR_NODE) {
        snprintf(err, errlen, "%s: \"%s\" must be a single value, not a list or map", path, key);
        return -1;
    }
    free(*out);
    *out = strdup(scalar_text(value));
    if (*out == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    return 0;
}

/* A key from the file as a message shows it: bounded, with control and non-ASCII bytes
 * replaced by '?', so that an error stays one readable line. */
static void shown_key(const char *key, char *out, size_t outlen)
{
    size_t i = 0;
    for (; key[i] != '\0' && i < 64 && i + 4 < outlen; i++)
        out[i] = key[i] >= ' ' && key[i] < 0x7f ? key[i] : '?';
    if (key[i] != '\0' && i + 4 <= outlen) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* Reads a `ERLANG_CLUSTER_X: value` map into values[]. */
static int read_value_map(const char *path, const char *map_name, yaml_document_t *doc,
                          const yaml_node_t *map, char **values, char *err, size_t errlen)
{
    if (map->type == YAML_SCALAR_NODE && *scalar_text(map) == '\0')
        return 0; /* `defaults:` with nothing under it */
    if (map->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "%s: \"%s\" must be a map of ERLANG_CLUSTER_* names to values",
                 path, map_name);
        return -1;
    }
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(doc, pair->key);
        yaml_node_t *value = yaml_document_get_node(doc, pair->value);
        if (key == NULL || value == NULL || key->type != YAML_SCALAR_NODE) {
            snprintf(err, errlen, "%s: \"%s\" must be a map of ERLANG_CLUSTER_* names to values",
                     path, map_name);
            return -1;
        }
        enum config_field field = config_field_from_variable(scalar_text(key));
        char shown[72];
        shown_key(scalar_text(key), shown, sizeof shown);
        if (field == FIELD_COUNT) {
            snprintf(err, errlen,
                     "%s: %s.%s is not a setting of this buildpack; use the ERLANG_CLUSTER_* "
                     "names from the README",
                     path, map_name, shown);
            return -1;
        }
        if (field == FIELD_COOKIE) {
            snprintf(err, errlen,
                     "%s: %s.%s is not allowed: a cookie must never be stored here; set it "
                     "per app with cf set-env or leave it to be generated",
                     path, map_name, shown);
            return -1;
        }
        char label[128];
        snprintf(label, sizeof label, "%s.%s", map_name, shown);
        if (copy_scalar(path, label, value, &values[field], err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* config.yml's `config:` map: `env` and `defaults`. */
static int read_config_map(const char *path, yaml_document_t *doc, yaml_node_t *value,
                           struct settings_file *out, char *err, size_t errlen)
{
    if (value->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "%s: \"config\" must be a map with env and defaults", path);
        return -1;
    }
    int rc = 0;
    for (yaml_node_pair_t *sub = value->data.mapping.pairs.start;
         rc == 0 && sub < value->data.mapping.pairs.top; sub++) {
        yaml_node_t *skey = yaml_document_get_node(doc, sub->key);
        yaml_node_t *svalue = yaml_document_get_node(doc, sub->value);
        if (skey == NULL || svalue == NULL || skey->type != YAML_SCALAR_NODE)
            continue;
        if (strcmp(scalar_text(skey), "env") == 0)
            rc = read_value_map(path, "config.env", doc, svalue, out->env, err, errlen);
        else if (strcmp(scalar_text(skey), "defaults") == 0)
            rc = read_value_map(path, "config.defaults", doc, svalue, out->defaults, err,
                                errlen);
    }
    return rc;
}

/* manifest: the buildpack's manifest.yml (`language`, `version`, `defaults`), else the
 * droplet's config.yml (`name`, `version`, `config`). */
static int read_settings(const char *path, bool manifest, struct settings_file *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    yaml_document_t doc;
    if (load_document(path, &doc, err, errlen) != 0)
        return -1;
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         rc == 0 && pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(&doc, pair->key);
        yaml_node_t *value = yaml_document_get_node(&doc, pair->value);
        if (key == NULL || value == NULL || key->type != YAML_SCALAR_NODE)
            continue;
        const char *k = scalar_text(key);
        if (strcmp(k, manifest ? "language" : "name") == 0)
            rc = copy_scalar(path, k, value, &out->name, err, errlen);
        else if (strcmp(k, "version") == 0)
            rc = copy_scalar(path, k, value, &out->version, err, errlen);
        else if (manifest && strcmp(k, "defaults") == 0)
            rc = read_value_map(path, "defaults", &doc, value, out->defaults, err, errlen);
        else if (!manifest && strcmp(k, "config") == 0)
            rc = read_config_map(path, &doc, value, out, err, errlen);
    }
    yaml_document_delete(&doc);
    if (rc != 0)
        settings_file_free(out);
    return rc;
}

int manifest_read(const char *path, struct settings_file *out, char *err, size_t errlen)
{
    return read_settings(path, true, out, err, errlen);
}

int staged_config_read(const char *path, struct settings_file *out, char *err, size_t errlen)
{
    return read_settings(path, false, out, err, errlen);
}

/* Emitter output collected in memory, then written atomically. */
struct text_buffer {
    char *data;
    size_t len, cap;
    bool failed;
};

static int buffer_write(void *ctx, unsigned char *bytes, size_t size)
{
    struct text_buffer *buf = ctx;
    if (buf->len + size + 1 > buf->cap) {
        size_t cap = (buf->cap == 0 ? 1024 : buf->cap * 2) + size;
        char *grown = realloc(buf->data, cap);
        if (grown == NULL) {
            buf->failed = true;
            return 0;
        }
        buf->data = grown;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, bytes, size);
    buf->len += size;
    buf->data[buf->len] = '\0';
    return 1;
}

static bool emit_scalar(yaml_emitter_t *emitter, const char *text, yaml_scalar_style_t style)
{
    yaml_event_t event;
    return yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)text,
                                        (int)strlen(text), 1, 1, style) &&
           yaml_emitter_emit(emitter, &event);
}

static bool emit_simple(yaml_emitter_t *emitter, int kind)
{
    yaml_event_t event;
    int ok = 0;
    switch (kind) {
    case 0: ok = yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING); break;
    case 1: ok = yaml_document_start_event_initialize(&event, NULL, NULL, NULL, 0); break;
    case 2: ok = yaml_mapping_start_event_initialize(&event, NULL, NULL, 1,
                                                      YAML_BLOCK_MAPPING_STYLE); break;
    case 3: ok = yaml_mapping_end_event_initialize(&event); break;
    case 4: ok = yaml_document_end_event_initialize(&event, 1); break;
    default: ok = yaml_stream_end_event_initialize(&event); break;
    }
    return ok && yaml_emitter_emit(emitter, &event);
}

enum { EV_STREAM_START, EV_DOC_START, EV_MAP_START, EV_MAP_END, EV_DOC_END, EV_STREAM_END };

static bool emit_value_map(yaml_emitter_t *emitter, const char *key, char *const *values)
{
    if (!emit_scalar(emitter, key, YAML_PLAIN_SCALAR_STYLE) ||
        !emit_simple(emitter, EV_MAP_START))
        return false;
    for (int f = 0; f < FIELD_COUNT; f++) {
        if (values[f] == NULL || f == FIELD_COOKIE)
            continue;
        if (!emit_scalar(emitter, config_field_variable(f), YAML_PLAIN_SCALAR_STYLE) ||
            !emit_scalar(emitter, values[f], YAML_DOUBLE_QUOTED_SCALAR_STYLE))
            return false;
    }
    return emit_simple(emitter, EV_MAP_END);
}

int staged_config_write(const char *path, const struct settings_file *in, char *err,
                        size_t errlen)
{
    yaml_emitter_t emitter;
    struct text_buffer buf = {0};
    if (!yaml_emitter_initialize(&emitter)) {
        snprintf(err, errlen, "writing %s: cannot initialise the YAML emitter", path);
        return -1;
    }
    yaml_emitter_set_output(&emitter, buffer_write, &buf);
    yaml_emitter_set_unicode(&emitter, 1);
    bool ok = emit_simple(&emitter, EV_STREAM_START) && emit_simple(&emitter, EV_DOC_START) &&
              emit_simple(&emitter, EV_MAP_START) &&
              emit_scalar(&emitter, "name", YAML_PLAIN_SCALAR_STYLE) &&
              emit_scalar(&emitter, in->name != NULL ? in->name : "", YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
              emit_scalar(&emitter, "version", YAML_PLAIN_SCALAR_STYLE) &&
              emit_scalar(&emitter, in->version != NULL ? in->version : "",
                          YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
              emit_scalar(&emitter, "config", YAML_PLAIN_SCALAR_STYLE) &&
              emit_simple(&emitter, EV_MAP_START) &&
              emit_value_map(&emitter, "env", in->env) &&
              emit_value_map(&emitter, "defaults", in->defaults) &&
              emit_simple(&emitter, EV_MAP_END) && emit_simple(&emitter, EV_MAP_END) &&
              emit_simple(&emitter, EV_DOC_END) && emit_simple(&emitter, EV_STREAM_END) &&
              yaml_emitter_flush(&emitter);
    int rc = 0;
    if (!ok || buf.failed) {
        snprintf(err, errlen, "writing %s: %s", path,
                 buf.failed ? "out of memory"
                 : emitter.problem != NULL ? emitter.problem : "YAML emitter error");
        rc = -1;
    } else {
        rc = fs_write_atomic(path, buf.data, buf.len, 0644, err, errlen);
    }
    yaml_emitter_delete(&emitter);
    free(buf.data);
    return rc;
}
