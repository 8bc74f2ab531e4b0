/* VCAP_APPLICATION, and the JSON helpers both VCAP parsers share (vcap_json.h). */
#include "common/vcap.h"
#include "common/vcap_json.h"
#include "common/text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool vcap_blank(const char *s)
{
    return s == NULL || *s == '\0';
}

struct shown_name vcap_shown(const char *name)
{
    struct shown_name out;
    text_shown(name, 64, out.text, sizeof out.text);
    return out;
}

int vcap_out_of_memory(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: out of memory", what);
    return -1;
}

int vcap_optional_string(const cJSON *object, const char *key, const char *where, char **out,
                         char *err, size_t errlen)
{
    *out = NULL;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (item == NULL || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        snprintf(err, errlen, "%s: \"%s\" must be a string", where, key);
        return -1;
    }
    *out = strdup(item->valuestring);
    if (*out == NULL)
        return vcap_out_of_memory(err, errlen, where);
    return 0;
}

static void free_string_list(char **list)
{
    if (list == NULL)
        return;
    for (char **p = list; *p != NULL; p++)
        free(*p);
    free(list);
}

static int string_array(const cJSON *object, const char *key, const char *where, char ***out,
                        char *err, size_t errlen)
{
    const cJSON *array = cJSON_GetObjectItemCaseSensitive(object, key);
    int count = 0;
    if (array != NULL && !cJSON_IsNull(array)) {
        if (!cJSON_IsArray(array)) {
            snprintf(err, errlen, "%s: \"%s\" must be an array of strings", where, key);
            return -1;
        }
        count = cJSON_GetArraySize(array);
    }
    char **list = calloc((size_t)count + 1, sizeof *list);
    if (list == NULL)
        return vcap_out_of_memory(err, errlen, where);
    int i = 0;
    const cJSON *item;
    if (count > 0) {
        cJSON_ArrayForEach(item, array) {
            if (!cJSON_IsString(item) || item->valuestring == NULL) {
                snprintf(err, errlen, "%s: \"%s\" must be an array of strings", where, key);
                free_string_list(list);
                return -1;
            }
            list[i] = strdup(item->valuestring);
            if (list[i] == NULL) {
                free_string_list(list);
                return vcap_out_of_memory(err, errlen, where);
            }
            i++;
        }
    }
    *out = list;
    return 0;
}

void vcap_application_free(struct vcap_application *app)
{
    free(app->name);
    free(app->id);
    free(app->process_type);
    free(app->space_id);
    free_string_list(app->uris);
    memset(app, 0, sizeof *app);
}

int vcap_application_parse(const char *json, struct vcap_application *app, char *err,
                           size_t errlen)
{
    memset(app, 0, sizeof *app);
    if (vcap_blank(json)) {
        app->uris = calloc(1, sizeof *app->uris);
        return app->uris == NULL ? vcap_out_of_memory(err, errlen, "VCAP_APPLICATION") : 0;
    }
    cJSON *root = cJSON_Parse(json);
    if (root == NULL) {
        snprintf(err, errlen,
                 "VCAP_APPLICATION is not valid JSON; it must be the JSON object the platform "
                 "sets (unset it to stage without it)");
        return -1;
    }
    int rc = -1;
    const char *where = "VCAP_APPLICATION";
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "VCAP_APPLICATION must be a JSON object");
        goto done;
    }
    char *name = NULL;
    if (vcap_optional_string(root, "application_name", where, &app->name, err, errlen) != 0 ||
        vcap_optional_string(root, "name", where, &name, err, errlen) != 0)
        goto done;
    if (app->name == NULL)
        app->name = name;
    else
        free(name);
    if (vcap_optional_string(root, "application_id", where, &app->id, err, errlen) != 0 ||
        vcap_optional_string(root, "process_type", where, &app->process_type, err, errlen) != 0 ||
        vcap_optional_string(root, "space_id", where, &app->space_id, err, errlen) != 0)
        goto done;
    const char *uri_key =
        cJSON_GetObjectItemCaseSensitive(root, "application_uris") != NULL ? "application_uris"
                                                                           : "uris";
    if (string_array(root, uri_key, where, &app->uris, err, errlen) != 0)
        goto done;
    rc = 0;
done:
    cJSON_Delete(root);
    if (rc != 0)
        vcap_application_free(app);
    return rc;
}
