/* instance_http.h - GET /api/v1/instance and /api/v2/instance, and the default images that
 * the Instance and Account entities point at. */
#ifndef SERVICES_THREADLY_ADAPTERS_HTTP_INSTANCE_HTTP_H
#define SERVICES_THREADLY_ADAPTERS_HTTP_INSTANCE_HTTP_H

#include "lib/http/http.h"
#include "services/threadly/domain/instance.h"

struct instance_http {
    const struct instance_settings *settings;
    char *v1_json, *v2_json; /* rendered once; the settings do not change while running */
    size_t v1_len, v2_len;
};

/* Renders the entities and registers the routes. ih must outlive the server. */
void instance_http_register(struct http_server *s, struct instance_http *ih,
                            const struct instance_settings *settings,
                            const struct instance_stats *stats);
void instance_http_release(struct instance_http *ih);

#endif
