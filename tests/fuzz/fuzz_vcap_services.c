/* VCAP_SERVICES parsing and registry selection: a parsed registry always has a usable base
 * URI (http or https with a host, no trailing slash or /eureka), complete or absent OAuth2
 * credentials, and a bound cookie is always a valid cookie; errors are one clean line. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/secret.h"
#include "common/vcap.h"
#include "fuzz_support.h"

static void check_uri(const char *what, const char *uri)
{
    const char *host = NULL;
    if (strncasecmp(uri, "http://", 7) == 0)
        host = uri + 7;
    else if (strncasecmp(uri, "https://", 8) == 0)
        host = uri + 8;
    if (host == NULL || *host == '\0' || *host == '/')
        fuzz_fail("%s \"%s\" is not an http(s) URL with a host", what, uri);
    for (const char *p = uri; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            fuzz_fail("%s \"%s\" has a space or control character", what, uri);
}

static void check_registry(const struct vcap_registry *reg)
{
    const struct registry_binding *b = &reg->binding;
    if (b->binding_name == NULL || reg->label == NULL)
        fuzz_fail("registry without binding name or label");
    if (b->uri == NULL) {
        /* Only a CredHub reference awaiting resolution leaves the URI unknown. */
        if (b->client_id != NULL || b->client_secret != NULL || b->access_token_uri != NULL)
            fuzz_fail("registry \"%s\" has OAuth2 credentials but no uri", b->binding_name);
        return;
    }
    check_uri("registry uri", b->uri);
    size_t len = strlen(b->uri);
    if (b->uri[len - 1] == '/')
        fuzz_fail("registry uri \"%s\" ends in a slash", b->uri);
    int oauth = (b->client_id != NULL) + (b->client_secret != NULL) +
                (b->access_token_uri != NULL);
    if (oauth != 0 && oauth != 3)
        fuzz_fail("registry \"%s\" has %d of the 3 OAuth2 credentials", b->binding_name, oauth);
    if (b->access_token_uri != NULL)
        check_uri("access_token_uri", b->access_token_uri);
}

static void check_cookie(const struct vcap_services *s)
{
    if (s->cookie == NULL) {
        if (s->cookie_service != NULL)
            fuzz_fail("cookie service without a cookie");
        return;
    }
    size_t len = strlen(s->cookie);
    if (s->cookie_service == NULL || len == 0 || len > COOKIE_TEXT_MAX)
        fuzz_fail("bound cookie of length %zu accepted", len);
    for (const char *p = s->cookie; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            fuzz_fail("bound cookie with byte 0x%02x accepted", (unsigned char)*p);
}

static void check_selection(const struct vcap_services *s)
{
    char err[1024] = "";
    long index = vcap_services_select_registry(s, NULL, err, sizeof err);
    long expected = s->registry_count == 0 ? -1 : s->registry_count == 1 ? 0 : -2;
    if (index != expected)
        fuzz_fail("selecting among %zu registries gave %ld", s->registry_count, index);
    if (index == -2)
        fuzz_check_message("vcap_services_select_registry", err);
    for (size_t i = 0; i < s->registry_count; i++) {
        const char *names[] = {s->registries[i].binding.binding_name, s->registries[i].name,
                               s->registries[i].instance_name};
        for (size_t n = 0; n < 3; n++) {
            if (names[n] == NULL || names[n][0] == '\0')
                continue;
            err[0] = '\0';
            index = vcap_services_select_registry(s, names[n], err, sizeof err);
            if (index < 0 || (size_t)index > i)
                fuzz_fail("registry \"%s\" not selected by its name (got %ld)", names[n], index);
        }
    }
    static const char unbound[] = "no-such-registry";
    bool named = false;
    for (size_t i = 0; i < s->registry_count; i++) {
        const struct vcap_registry *r = &s->registries[i];
        named = named || strcmp(r->binding.binding_name, unbound) == 0 ||
                (r->name != NULL && strcmp(r->name, unbound) == 0) ||
                (r->instance_name != NULL && strcmp(r->instance_name, unbound) == 0);
    }
    err[0] = '\0';
    index = vcap_services_select_registry(s, unbound, err, sizeof err);
    if (!named && index != -2)
        fuzz_fail("an unbound registry name was selected (%ld)", index);
    if (index == -2)
        fuzz_check_message("vcap_services_select_registry", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_cstring(data, size);
    struct vcap_services services;
    char err[1024] = "";
    if (vcap_services_parse(json, &services, err, sizeof err) == 0) {
        for (size_t i = 0; i < services.registry_count; i++)
            check_registry(&services.registries[i]);
        check_cookie(&services);
        check_selection(&services);
        vcap_services_free(&services);
    } else {
        fuzz_check_message("vcap_services_parse", err);
        if (services.registry_count != 0 || services.registries != NULL ||
            services.cookie != NULL)
            fuzz_fail("vcap_services_parse failed but left results behind");
    }
    free(json);
    return 0;
}
