/* instance_http.h - GET /api/v1/instance and /api/v2/instance, and the default images that
 * the Instance and Account entities point at. */
#ifndef SERVICES_THREADLY_ADAPTERS_HTTP_INSTANCE_HTTP_H
#define SERVICES_THREADLY_ADAPTERS_HTTP_INSTANCE_HTTP_H

#include "lib/http/http.h"
#include "services/threadly/domain/instance.h"
#include "services/threadly/ports/account_store.h"

#include <pthread.h>

#define INSTANCE_REFRESH_MS 10000

struct instance_http {
    const struct instance_settings *settings;
    struct account_store *accounts; /* for stats.user_count; NULL: always 0 */
    pthread_mutex_t lock;           /* guards what follows */
    int64_t rendered_at;            /* monotonic ms */
    char *v1_json, *v2_json;        /* re-rendered at most every INSTANCE_REFRESH_MS */
    size_t v1_len, v2_len;
};

/* Renders the entities and registers the routes. ih must outlive the server. The counts are
 * read from accounts when the cached rendering is older than INSTANCE_REFRESH_MS, so clients
 * polling the instance cost no query per request. */
void instance_http_register(struct http_server *s, struct instance_http *ih,
                            const struct instance_settings *settings,
                            struct account_store *accounts);
void instance_http_release(struct instance_http *ih);

#endif
