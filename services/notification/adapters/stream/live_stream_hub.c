/* live_stream_hub.c - Mastodon streaming events from committed notifications and statuses,
 * published to lib/http's hub: `notification` to the recipient's user stream, `update` and
 * `delete` to the given user streams and the public ones. */
#include "services/notification/adapters/stream/live_stream_hub.h"

#include "lib/auth/scope.h"
#include "lib/base/buf.h"
#include "lib/base/id.h"
#include "lib/base/jsonw.h"
#include "lib/base/xalloc.h"
#include "services/notification/adapters/json/notification_json.h"
#include "services/notification/app/notifications.h"

#include <stdlib.h>

struct live_stream_hub {
    struct stream_hub *hub;
    struct notif_core *core;
};

/* Any valid user token opens a connection, as in Mastodon; what it may read is per stream
 * (lib/http/stream.h, STREAM_GRANT_*): `read` or read:statuses for the user stream,
 * `read` or read:notifications for notifications; the public streams need no scope. */
static int live_stream_hub_auth(void *ctx, const char *token, uint64_t *account_id,
                                unsigned *grants, struct err *err)
{
    struct live_stream_hub *h = ctx;
    struct access_token t;
    int rc = notif_authenticate(h->core, token, &t, err);
    if (rc)
        return rc;
    if (!t.account_id)
        return err_set(err, ERR_FORBIDDEN, "streaming needs a user token, not an app token");
    *grants = (auth_scope_allows(t.scope, "read:statuses") ? STREAM_GRANT_STATUSES : 0) |
              (auth_scope_allows(t.scope, "read:notifications") ? STREAM_GRANT_NOTIFICATIONS : 0);
    *account_id = t.account_id;
    return 0;
}

static int live_stream_hub_notification(void *ctx, const struct notification *n, struct err *err)
{
    struct live_stream_hub *h = ctx;
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    notification_json_write(&w, n);
    int rc = stream_hub_publish(h->hub, "user", n->recipient_id, "notification", b.data, err);
    buf_release(&b);
    return rc;
}

/* event with payload to accounts' user streams, then to both public streams if asked. Goes on
 * after a failure (a full queue drops events, not connections) and returns the first. */
static int fan_out(struct live_stream_hub *h, const char *event, const char *payload,
                   const uint64_t *accounts, size_t n, bool public_streams, struct err *err)
{
    int first = 0;
    struct err e = {0};
    for (size_t i = 0; i < n; i++) {
        int rc = stream_hub_publish(h->hub, "user", accounts[i], event, payload, &e);
        if (rc && !first) {
            first = rc;
            *err = e;
        }
    }
    for (int i = 0; public_streams && i < 2; i++) {
        int rc = stream_hub_publish(h->hub, i ? "public:local" : "public", 0, event, payload, &e);
        if (rc && !first) {
            first = rc;
            *err = e;
        }
    }
    return first;
}

static int live_stream_hub_update(void *ctx, const char *status_json, const uint64_t *accounts,
                                  size_t n, bool public_streams, struct err *err)
{
    /* The snapshot is rendered for an anonymous viewer: favourited, reblogged, muted,
     * bookmarked and pinned are false, which is also true of a status nobody has seen yet. */
    return fan_out(ctx, "update", status_json, accounts, n, public_streams, err);
}

static int live_stream_hub_remove(void *ctx, uint64_t status_id, const uint64_t *accounts, size_t n,
                                  bool public_streams, struct err *err)
{
    char id[ID_STR_LEN];
    id_format(status_id, id);
    return fan_out(ctx, "delete", id, accounts, n, public_streams, err);
}

static bool live_stream_hub_listening(void *ctx, uint64_t account)
{
    struct live_stream_hub *h = ctx;
    return stream_hub_account_connected(h->hub, account);
}

static const struct live_stream_ops live_stream_hub_ops = {
    .notification = live_stream_hub_notification,
    .update = live_stream_hub_update,
    .remove = live_stream_hub_remove,
    .listening = live_stream_hub_listening,
};

struct live_stream_hub *live_stream_hub_new(struct http_server *s, struct notif_core *core,
                                            const struct stream_hub_config *cfg)
{
    struct live_stream_hub *h = xcalloc(1, sizeof(*h));
    struct stream_hub_config c = *cfg;
    h->core = core;
    c.auth = live_stream_hub_auth;
    c.auth_ctx = h;
    h->hub = stream_hub_new(s, &c);
    return h;
}

struct live_stream live_stream_hub_port(struct live_stream_hub *h)
{
    return (struct live_stream){&live_stream_hub_ops, h};
}

void live_stream_hub_free(struct live_stream_hub *h)
{
    if (!h)
        return;
    stream_hub_free(h->hub);
    free(h);
}
