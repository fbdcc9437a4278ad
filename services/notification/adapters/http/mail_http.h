/* mail_http.h - notification-service's email endpoints (docs/email.md): the Threadly extension
 * GET/PATCH /api/v1/threadly/email_preferences, and the unsubscribe link of every notification
 * mail, /mail/unsubscribe (GET: a page with a button; POST: RFC 8058 one-click). */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_HTTP_MAIL_HTTP_H
#define SERVICES_NOTIFICATION_ADAPTERS_HTTP_MAIL_HTTP_H

#include "lib/http/http.h"
#include "services/notification/app/core.h"

struct mail_http {
    struct notif_core *core; /* core->mail is set */
    struct logger *log;
};

/* Registers the routes; api must outlive the server. */
void mail_http_register(struct http_server *s, struct mail_http *api);

#endif
