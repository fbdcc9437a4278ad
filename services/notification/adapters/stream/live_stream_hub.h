/* live_stream_hub.h - the live_stream port on lib/http's streaming hub (WebSocket + SSE), and
 * the hub's authentication: threadly-service's JWT, not revoked, a user token with a scope
 * that may read the home timeline or the notifications. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_STREAM_LIVE_STREAM_HUB_H
#define SERVICES_NOTIFICATION_ADAPTERS_STREAM_LIVE_STREAM_HUB_H

#include "lib/http/stream.h"
#include "services/notification/app/core.h"

struct live_stream_hub;

/* Starts a hub on s (before s starts) with cfg's limits; cfg's auth fields are ignored (the
 * hub authenticates through core). core must outlive the hub. */
struct live_stream_hub *live_stream_hub_new(struct http_server *s, struct notif_core *core,
                                            const struct stream_hub_config *cfg);
/* The port, for core->live. */
struct live_stream live_stream_hub_port(struct live_stream_hub *h);
/* Frees the hub; only after the HTTP server is shut down. NULL is a no-op. */
void live_stream_hub_free(struct live_stream_hub *h);

#endif
