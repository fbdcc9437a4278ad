/* notifications_http.h - notification-service's Mastodon REST endpoints: notifications
 * (list with filters and Link paging, one, dismiss, clear, unread_count) and markers. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_HTTP_NOTIFICATIONS_HTTP_H
#define SERVICES_NOTIFICATION_ADAPTERS_HTTP_NOTIFICATIONS_HTTP_H

#include "lib/http/http.h"
#include "services/notification/app/core.h"

struct notifications_http {
    struct notif_core *core;
    const char *base_url; /* for Link headers, without a trailing '/' */
    struct logger *log;
};

/* Registers the routes; api must outlive the server. */
void notifications_http_register(struct http_server *s, struct notifications_http *api);

#endif
