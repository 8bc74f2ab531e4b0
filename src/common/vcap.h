/* Parsing of the platform's VCAP_APPLICATION and VCAP_SERVICES (JSON, with cJSON). Errors
 * are one line naming the variable and the offending key; credentials never appear in them. */
#ifndef ECB_VCAP_H
#define ECB_VCAP_H

#include <stddef.h>

#include "common/config.h"

struct vcap_application {
    char *name;         /* application_name, else name; NULL when absent */
    char *id;           /* application_id */
    char *process_type; /* process_type (run time) */
    char *space_id;     /* space_id */
    char **uris;        /* application_uris, else uris; NULL-terminated, never NULL */
};

/* json NULL or empty yields an empty result. */
int vcap_application_parse(const char *json, struct vcap_application *app, char *err,
                           size_t errlen);
void vcap_application_free(struct vcap_application *app);

/* One Eureka registry found among the bindings, with every name a user may pick it by. */
struct vcap_registry {
    struct registry_binding binding; /* binding.binding_name: the name used in messages */
    char *name;                      /* the binding's `name` */
    char *instance_name;             /* the binding's `instance_name` */
    char *label;
};

struct vcap_services {
    size_t registry_count;
    struct vcap_registry *registries;
    char *cookie;         /* secret: `cookie` of a service tagged erlang-cluster */
    char *cookie_service; /* the name of that service */
};

/* A binding is a Eureka registry when it is tagged `eureka` or its label is
 * p-service-registry / p.service-registry. json NULL or empty yields an empty result. */
int vcap_services_parse(const char *json, struct vcap_services *services, char *err,
                        size_t errlen);
void vcap_services_free(struct vcap_services *services);

/* Picks the registry to use: the one whose binding, service or instance name equals
 * service_name when that is set (error when none does), else the only one bound (error
 * naming them when there are several). Returns its index, -1 when none is bound and none was
 * asked for, or -2 with err filled. */
long vcap_services_select_registry(const struct vcap_services *services,
                                   const char *service_name, char *err, size_t errlen);

#endif
