/* notifications.h - use cases behind the Mastodon notification and marker endpoints:
 * authentication (signature, then the revoked token ids from token.revoked events), the
 * notification history of the caller and the read markers. */
#ifndef SERVICES_NOTIFICATION_APP_NOTIFICATIONS_H
#define SERVICES_NOTIFICATION_APP_NOTIFICATIONS_H

#include "services/notification/app/core.h"

/* Verifies token and refuses revoked ones. ERR_FORBIDDEN for a token that is missing, invalid,
 * expired or revoked; ERR_UNAVAILABLE when the key or the store cannot be read. */
int notif_authenticate(struct notif_core *c, const char *token, struct access_token *out,
                       struct err *err);

/* A page of q's notifications (q->page.limit clamped to 1..NOTIFICATION_LIMIT_MAX). */
int notif_list(struct notif_core *c, struct notification_query *q, struct arena *a,
               struct notification_list *out, struct err *err);
/* Unread notifications of q (ids after the notifications marker, if any), at most
 * q->page.limit (clamped to 1..NOTIFICATION_UNREAD_LIMIT_MAX). q's paging ids are ignored. */
int notif_unread_count(struct notif_core *c, struct notification_query *q, int64_t *out,
                       struct err *err);
int notif_get(struct notif_core *c, uint64_t account_id, uint64_t id, struct arena *a,
              struct notification *out, struct err *err);
int notif_dismiss(struct notif_core *c, uint64_t account_id, uint64_t id, struct err *err);
int notif_clear(struct notif_core *c, uint64_t account_id, struct err *err);

/* The marker of timeline: ERR_NOT_FOUND when none was saved. */
int notif_marker_get(struct notif_core *c, uint64_t account_id, enum marker_timeline timeline,
                     struct marker *out, struct err *err);
int notif_marker_set(struct notif_core *c, uint64_t account_id, enum marker_timeline timeline,
                     uint64_t last_read_id, struct marker *out, struct err *err);

#endif
