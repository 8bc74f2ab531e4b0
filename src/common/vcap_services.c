/* VCAP_SERVICES: the Eureka registries and the cluster cookie among the bound services, and
 * the choice of one registry. */
#include "common/vcap.h"
#include "common/vcap_json.h"
#include "common/secret.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool has_tag(const cJSON *binding, const char *tag)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(binding, "tags");
    const cJSON *item;
    if (!cJSON_IsArray(tags))
        return false;
    cJSON_ArrayForEach(item, tags) {
        if (cJSON_IsString(item) && item->valuestring != NULL &&
            strcasecmp(item->valuestring, tag) == 0)
            return true;
    }
    return false;
}

static bool http_uri(const char *uri)
{
    if (strncasecmp(uri, "http://", 7) != 0 && strncasecmp(uri, "https://", 8) != 0)
        return false;
    const char *host = strstr(uri, "://") + 3;
    if (*host == '\0' || *host == '/')
        return false;
    for (const char *p = uri; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

static void registry_free(struct vcap_registry *reg)
{
    free(reg->binding.binding_name);
    free(reg->binding.uri);
    free(reg->binding.client_id);
    secret_free(reg->binding.client_secret);
    free(reg->binding.access_token_uri);
    free(reg->name);
    free(reg->instance_name);
    free(reg->label);
    memset(reg, 0, sizeof *reg);
}

/* The base URI the agent appends /eureka/... to: without trailing slashes or a /eureka path
 * (only a path: in http://eureka the name is the host). uri passed http_uri. */
static void trim_registry_uri(char *uri)
{
    size_t host = (size_t)(strstr(uri, "://") + 3 - uri);
    size_t len = strlen(uri);
    while (len > host && uri[len - 1] == '/')
        uri[--len] = '\0';
    if (len >= host + 8 && strcasecmp(uri + len - 7, "/eureka") == 0) {
        len -= 7;
        uri[len] = '\0';
    }
    while (len > host && uri[len - 1] == '/')
        uri[--len] = '\0';
}

static int parse_registry(const cJSON *binding, const char *label, const char *display,
                          struct vcap_registry *reg, char *err, size_t errlen)
{
    char where[256];
    snprintf(where, sizeof where, "VCAP_SERVICES: registry service \"%s\"",
             vcap_shown(display).text);
    memset(reg, 0, sizeof *reg);
    reg->label = strdup(label);
    reg->binding.binding_name = strdup(display);
    if (reg->label == NULL || reg->binding.binding_name == NULL)
        goto oom;
    if (vcap_optional_string(binding, "name", where, &reg->name, err, errlen) != 0 ||
        vcap_optional_string(binding, "instance_name", where, &reg->instance_name, err, errlen) != 0)
        goto fail;
    const cJSON *creds = cJSON_GetObjectItemCaseSensitive(binding, "credentials");
    if (!cJSON_IsObject(creds)) {
        snprintf(err, errlen, "%s: \"credentials\" must be an object with a \"uri\"", where);
        goto fail;
    }
    /* At staging CredHub-backed credentials are still a reference; the launcher resolves
     * them before the app starts, and the agent reads them then. */
    if (cJSON_GetObjectItemCaseSensitive(creds, "credhub-ref") != NULL &&
        cJSON_GetObjectItemCaseSensitive(creds, "uri") == NULL)
        return 0;
    char cwhere[300];
    snprintf(cwhere, sizeof cwhere, "%s credentials", where);
    if (vcap_optional_string(creds, "uri", cwhere, &reg->binding.uri, err, errlen) != 0 ||
        vcap_optional_string(creds, "client_id", cwhere, &reg->binding.client_id, err, errlen) != 0 ||
        vcap_optional_string(creds, "client_secret", cwhere, &reg->binding.client_secret, err,
                        errlen) != 0 ||
        vcap_optional_string(creds, "access_token_uri", cwhere, &reg->binding.access_token_uri, err,
                        errlen) != 0)
        goto fail;
    if (reg->binding.uri == NULL || !http_uri(reg->binding.uri)) {
        snprintf(err, errlen, "%s: \"uri\" must be the registry's http:// or https:// URL",
                 cwhere);
        goto fail;
    }
    trim_registry_uri(reg->binding.uri);
    int oauth_keys = (reg->binding.client_id != NULL) + (reg->binding.client_secret != NULL) +
                     (reg->binding.access_token_uri != NULL);
    if (oauth_keys != 0 && oauth_keys != 3) {
        snprintf(err, errlen,
                 "%s: \"client_id\", \"client_secret\" and \"access_token_uri\" go together; "
                 "give all three for OAuth2 or none",
                 cwhere);
        goto fail;
    }
    if (reg->binding.access_token_uri != NULL && !http_uri(reg->binding.access_token_uri)) {
        snprintf(err, errlen, "%s: \"access_token_uri\" must be an http:// or https:// URL",
                 cwhere);
        goto fail;
    }
    return 0;
oom:
    vcap_out_of_memory(err, errlen, "VCAP_SERVICES");
fail:
    registry_free(reg);
    return -1;
}

static int parse_cookie_service(const cJSON *binding, const char *display,
                                struct vcap_services *services, char *err, size_t errlen)
{
    const cJSON *creds = cJSON_GetObjectItemCaseSensitive(binding, "credentials");
    if (creds == NULL || cJSON_IsNull(creds))
        return 0;
    char where[300];
    snprintf(where, sizeof where,
             "VCAP_SERVICES: service \"%s\" (tagged erlang-cluster) credentials",
             vcap_shown(display).text);
    if (!cJSON_IsObject(creds)) {
        snprintf(err, errlen, "%s must be an object", where);
        return -1;
    }
    const cJSON *cookie = cJSON_GetObjectItemCaseSensitive(creds, "cookie");
    if (cookie == NULL || cJSON_IsNull(cookie))
        return 0;
    if (!cJSON_IsString(cookie) || cookie->valuestring == NULL ||
        !cookie_text_valid(cookie->valuestring)) {
        snprintf(err, errlen,
                 "%s: \"cookie\" must be a string of 1 to %d printable ASCII characters "
                 "without spaces",
                 where, COOKIE_TEXT_MAX);
        return -1;
    }
    if (services->cookie != NULL) {
        snprintf(err, errlen,
                 "VCAP_SERVICES: services \"%s\" and \"%s\" both carry an Erlang cookie; "
                 "unbind one of them",
                 vcap_shown(services->cookie_service).text, vcap_shown(display).text);
        return -1;
    }
    services->cookie = strdup(cookie->valuestring);
    services->cookie_service = strdup(display);
    if (services->cookie == NULL || services->cookie_service == NULL)
        return vcap_out_of_memory(err, errlen, "VCAP_SERVICES");
    return 0;
}

void vcap_services_free(struct vcap_services *services)
{
    for (size_t i = 0; i < services->registry_count; i++)
        registry_free(&services->registries[i]);
    free(services->registries);
    secret_free(services->cookie);
    free(services->cookie_service);
    memset(services, 0, sizeof *services);
}

static const char *display_name(const cJSON *binding, const char *label)
{
    static const char *const keys[] = {"binding_name", "name", "instance_name"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(binding, keys[i]);
        if (cJSON_IsString(item) && item->valuestring != NULL && *item->valuestring != '\0')
            return item->valuestring;
    }
    return label;
}

/* One binding of the group `label`: a registry, a service carrying the cookie, or neither. */
static int parse_binding(const cJSON *binding, const char *label, struct vcap_services *services,
                         char *err, size_t errlen)
{
    if (!cJSON_IsObject(binding)) {
        snprintf(err, errlen, "VCAP_SERVICES: every \"%s\" binding must be an object",
                 vcap_shown(label).text);
        return -1;
    }
    const char *display = display_name(binding, label);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(binding, "tags");
    if (tags != NULL && !cJSON_IsNull(tags) && !cJSON_IsArray(tags)) {
        snprintf(err, errlen, "VCAP_SERVICES: \"tags\" of service \"%s\" must be an array",
                 vcap_shown(display).text);
        return -1;
    }
    bool registry = has_tag(binding, "eureka") || strcmp(label, "p-service-registry") == 0 ||
                    strcmp(label, "p.service-registry") == 0;
    if (registry) {
        struct vcap_registry *grown = realloc(
            services->registries, (services->registry_count + 1) * sizeof *services->registries);
        if (grown == NULL)
            return vcap_out_of_memory(err, errlen, "VCAP_SERVICES");
        services->registries = grown;
        if (parse_registry(binding, label, display,
                           &services->registries[services->registry_count], err, errlen) != 0)
            return -1;
        services->registry_count++;
    }
    if (has_tag(binding, "erlang-cluster") &&
        parse_cookie_service(binding, display, services, err, errlen) != 0)
        return -1;
    return 0;
}

int vcap_services_parse(const char *json, struct vcap_services *services, char *err,
                        size_t errlen)
{
    memset(services, 0, sizeof *services);
    if (vcap_blank(json))
        return 0;
    cJSON *root = cJSON_Parse(json);
    if (root == NULL) {
        snprintf(err, errlen,
                 "VCAP_SERVICES is not valid JSON; it must be a JSON object of service "
                 "bindings keyed by label");
        return -1;
    }
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "VCAP_SERVICES must be a JSON object of service bindings keyed by label");
        goto done;
    }
    const cJSON *group;
    cJSON_ArrayForEach(group, root) {
        if (!cJSON_IsArray(group)) {
            snprintf(err, errlen, "VCAP_SERVICES: \"%s\" must be an array of bindings",
                     vcap_shown(group->string).text);
            goto done;
        }
        const cJSON *binding;
        cJSON_ArrayForEach(binding, group) {
            if (parse_binding(binding, group->string, services, err, errlen) != 0)
                goto done;
        }
    }
    rc = 0;
done:
    cJSON_Delete(root);
    if (rc != 0)
        vcap_services_free(services);
    return rc;
}

static bool registry_named(const struct vcap_registry *reg, const char *name)
{
    return strcmp(reg->binding.binding_name, name) == 0 ||
           (reg->name != NULL && strcmp(reg->name, name) == 0) ||
           (reg->instance_name != NULL && strcmp(reg->instance_name, name) == 0);
}

static void list_registry_names(const struct vcap_services *services, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < services->registry_count && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s\"%s\"", i == 0 ? "" : ", ",
                         vcap_shown(services->registries[i].binding.binding_name).text);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

long vcap_services_select_registry(const struct vcap_services *services,
                                   const char *service_name, char *err, size_t errlen)
{
    char names[512];
    list_registry_names(services, names, sizeof names);
    if (!vcap_blank(service_name)) {
        for (size_t i = 0; i < services->registry_count; i++)
            if (registry_named(&services->registries[i], service_name))
                return (long)i;
        if (services->registry_count == 0)
            snprintf(err, errlen,
                     "ERLANG_CLUSTER_SERVICE: no Eureka registry named \"%s\" is bound; bind "
                     "it (cf bind-service APP %s) or unset ERLANG_CLUSTER_SERVICE",
                     vcap_shown(service_name).text, vcap_shown(service_name).text);
        else
            snprintf(err, errlen,
                     "ERLANG_CLUSTER_SERVICE: no Eureka registry named \"%s\" is bound; the "
                     "bound ones are %s: set it to one of them",
                     vcap_shown(service_name).text, names);
        return -2;
    }
    if (services->registry_count == 0)
        return -1;
    if (services->registry_count == 1)
        return 0;
    snprintf(err, errlen,
             "VCAP_SERVICES: %zu Eureka registries are bound (%s); set ERLANG_CLUSTER_SERVICE "
             "to the one to use (cf set-env APP ERLANG_CLUSTER_SERVICE %s) or unbind the others",
             services->registry_count, names,
             vcap_shown(services->registries[0].binding.binding_name).text);
    return -2;
}
