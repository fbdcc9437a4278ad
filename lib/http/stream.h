/* stream.h - Mastodon's streaming API transport on lib/http: WebSocket (libmicrohttpd upgrade +
 * wslay) and Server-Sent Events, with subscriptions, limits, heartbeats and bounded send buffers.
 * It knows nothing of posts or notifications: the service authenticates tokens (a callback) and
 * publishes ready-made JSON payloads. Design: docs/adr/004-streaming.md. */
#ifndef LIB_HTTP_STREAM_H
#define LIB_HTTP_STREAM_H

#include "lib/base/err.h"
#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "lib/http/http.h"

#include <stddef.h>
#include <stdint.h>

struct stream_hub;

/* What a token may read, set by stream_auth_fn in *grants, with Mastodon's per-channel rule
 * (streaming/index.js, checkScopes): the public streams need no scope; "user" needs
 * STREAM_GRANT_STATUSES (scope read or read:statuses); "user:notification", and the
 * notification events of "user", need STREAM_GRANT_NOTIFICATIONS (read or read:notifications).
 * A stream the token may not read is refused with 401, or an error frame on a WebSocket. */
#define STREAM_GRANT_STATUSES 1u
#define STREAM_GRANT_NOTIFICATIONS 2u

/* Checks an access token (JWT, revocation: the service's business). Returns 0 and sets
 * *account_id and *grants (STREAM_GRANT_* bits, maybe none), or an error: ERR_FORBIDDEN /
 * ERR_INVALID mean a bad token (401), anything else is a server failure (503). Runs on the HTTP
 * server's threads, so it must be thread-safe. */
typedef int (*stream_auth_fn)(void *ctx, const char *token, uint64_t *account_id, unsigned *grants,
                              struct err *err);

struct stream_hub_config {
    unsigned max_connections; /* open streams in total; 0 = 10000 */
    unsigned max_per_account; /* open streams of one account; 0 = 16 */
    size_t send_buffer;       /* bytes queued for one client before it is cut off; 0 = 1 MiB */
    unsigned heartbeat_ms;    /* WebSocket ping / SSE ":thump" interval; 0 = 15000 */
    size_t max_queue;         /* bytes of published events waiting for the loop; 0 = 64 MiB */
    stream_auth_fn auth;      /* required */
    void *auth_ctx;
    struct logger *log;      /* required */
    struct metrics *metrics; /* required */
};

/* Creates the hub, starts its event-loop thread and registers on s (before it starts):
 *   GET /api/v1/streaming[/]                WebSocket (?stream= subscribes at once); without an
 *                                           Upgrade header, SSE of ?stream= (as Mastodon does)
 *   GET /api/v1/streaming/user              SSE, needs a token
 *   GET /api/v1/streaming/user/notification SSE, needs a token
 *   GET /api/v1/streaming/public            SSE, token optional
 *   GET /api/v1/streaming/public/local      SSE, token optional
 *   GET /api/v1/streaming/health            "OK"
 * and a shutdown hook that closes every stream when the server shuts down. Free the hub only
 * after the server is shut down. */
struct stream_hub *stream_hub_new(struct http_server *s, const struct stream_hub_config *cfg);
/* Stops the loop (if the server has not) and frees everything. NULL is a no-op. */
void stream_hub_free(struct stream_hub *hub);

/* Queues an event for the subscribers of a stream; callable from any thread, never blocks on
 * the network (the loop thread does the sending).
 *   stream:  "user" (also reaches "user:notification" subscribers when event is
 *            "notification", as in Mastodon), "user:notification", "public", "public:local"
 *            (a local public status is published to both public streams by the caller)
 *   account: the account whose user streams get it; ignored for public streams
 *   event:   "update", "notification", "delete", "status.update", ... (a plain token)
 *   payload: the JSON text (or a bare id for "delete"), sent as a JSON string in WebSocket
 *            frames and as the data lines of SSE; NULL for none ("filters_changed")
 * Returns 0, ERR_INVALID (unknown stream, bad event name) or ERR_UNAVAILABLE (the loop is
 * max_queue bytes behind, or stopped: the event is dropped and counted). */
int stream_hub_publish(struct stream_hub *hub, const char *stream, uint64_t account,
                       const char *event, const char *payload, struct err *err);

/* Open streams now (both transports). Thread-safe. */
unsigned stream_hub_connections(struct stream_hub *hub);
/* Whether account has an authenticated stream open (or being opened) now, so a publisher can
 * skip the work of an event nobody would receive. Thread-safe; a stream opened right after
 * the answer misses that event, as if it had connected a moment later. */
bool stream_hub_account_connected(struct stream_hub *hub, uint64_t account);

#endif
