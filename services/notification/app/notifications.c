/* notifications.c - the notification and marker use cases; thin over the store. */
#include "services/notification/app/notifications.h"

int notif_authenticate(struct notif_core *c, const char *token, struct access_token *out,
                       struct err *err)
{
    if (!token || !*token)
        return err_set(err, ERR_FORBIDDEN, "no access token");
    int rc = token_verifier_verify(&c->tokens, token, clock_now_ms(c->clock), out, err);
    if (rc == ERR_INVALID)
        return err_set(err, ERR_FORBIDDEN, "invalid token");
    if (rc)
        return rc;
    bool revoked;
    rc = notification_store_token_revoked(&c->store, out->jti, out->account_id, &revoked, err);
    if (rc)
        return rc;
    if (revoked)
        return err_set(err, ERR_FORBIDDEN, "token revoked");
    return 0;
}

static int clamp(int v, int max)
{
    return v < 1 ? 1 : v > max ? max : v;
}

int notif_list(struct notif_core *c, struct notification_query *q, struct arena *a,
               struct notification_list *out, struct err *err)
{
    q->page.limit = clamp(q->page.limit, NOTIFICATION_LIMIT_MAX);
    return notification_store_list(&c->store, q, a, out, err);
}

int notif_unread_count(struct notif_core *c, struct notification_query *q, int64_t *out,
                       struct err *err)
{
    struct marker m = {0};
    int rc =
        notification_store_marker_get(&c->store, q->recipient_id, MARKER_NOTIFICATIONS, &m, err);
    if (rc && rc != ERR_NOT_FOUND)
        return rc;
    q->page.max_id = 0;
    q->page.min_id = 0;
    q->page.since_id = rc == 0 ? m.last_read_id : 0;
    q->page.limit = clamp(q->page.limit, NOTIFICATION_UNREAD_LIMIT_MAX);
    return notification_store_count(&c->store, q, out, err);
}

int notif_get(struct notif_core *c, uint64_t account_id, uint64_t id, struct arena *a,
              struct notification *out, struct err *err)
{
    return notification_store_get(&c->store, account_id, id, a, out, err);
}

int notif_dismiss(struct notif_core *c, uint64_t account_id, uint64_t id, struct err *err)
{
    return notification_store_dismiss(&c->store, account_id, id, err);
}

int notif_clear(struct notif_core *c, uint64_t account_id, struct err *err)
{
    return notification_store_clear(&c->store, account_id, err);
}

int notif_marker_get(struct notif_core *c, uint64_t account_id, enum marker_timeline timeline,
                     struct marker *out, struct err *err)
{
    return notification_store_marker_get(&c->store, account_id, timeline, out, err);
}

int notif_marker_set(struct notif_core *c, uint64_t account_id, enum marker_timeline timeline,
                     uint64_t last_read_id, struct marker *out, struct err *err)
{
    return notification_store_marker_set(&c->store, account_id, timeline, last_read_id,
                                         clock_now_ms(c->clock), out, err);
}
