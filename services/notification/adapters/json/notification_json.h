/* notification_json.h - Mastodon's Notification entity as JSON, the one rendering shared by the
 * REST adapter and the streaming adapter (so a streamed notification is byte for byte what
 * GET /api/v1/notifications/:id returns). */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_JSON_NOTIFICATION_JSON_H
#define SERVICES_NOTIFICATION_ADAPTERS_JSON_NOTIFICATION_JSON_H

#include "lib/base/jsonw.h"
#include "services/notification/domain/notification.h"

/* Writes n as one JSON object to w. */
void notification_json_write(struct jsonw *w, const struct notification *n);

#endif
