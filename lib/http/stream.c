/* stream.c - the streaming hub: connection slots and limits, the publish queue, the event-loop
 * thread that owns every stream (epoll + eventfd + heartbeat timer) and the fan-out, and the
 * HTTP routes that open streams. The WebSocket and SSE specifics live in stream_ws.c and
 * stream_sse.c. Why one loop thread, and SSE through libmicrohttpd: docs/adr/004-streaming.md. */
#include "lib/base/clock.h"
#include "lib/base/xalloc.h"
#include "lib/http/stream_internal.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum msg_type { MSG_PUBLISH, MSG_CONN_NEW, MSG_SSE_DONE };

struct stream_msg {
    struct stream_msg *next;
    enum msg_type type;
    struct sconn *conn; /* MSG_CONN_NEW, MSG_SSE_DONE */
    enum stream_kind kind;
    uint64_t account;
    size_t bytes;
    char *event;
    char *payload; /* NULL for none */
};

static const char *const kind_names[SK_COUNT] = {"user", "user:notification", "public",
                                                 "public:local"};

int stream_kind_parse(const char *name)
{
    for (int k = 0; k < SK_COUNT; k++)
        if (name && strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

const char *stream_kind_name(enum stream_kind k)
{
    return kind_names[k];
}

/* ---- slots: total and per-account counts (hub->lock) ---- */

static size_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static size_t acct_slot(const struct stream_hub *hub, uint64_t id)
{
    size_t mask = hub->acap - 1, i = hash64(id) & mask;
    while (hub->accts[i] && hub->accts[i]->id != id)
        i = (i + 1) & mask;
    return i;
}

static struct stream_acct *acct_find(const struct stream_hub *hub, uint64_t id)
{
    return hub->acap ? hub->accts[acct_slot(hub, id)] : NULL;
}

static void acct_grow(struct stream_hub *hub)
{
    struct stream_acct **old = hub->accts;
    size_t oldcap = hub->acap;
    hub->acap = oldcap ? oldcap * 2 : 64;
    hub->accts = xcalloc(hub->acap, sizeof(*hub->accts));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i])
            hub->accts[acct_slot(hub, old[i]->id)] = old[i];
    free(old);
}

static struct stream_acct *acct_get(struct stream_hub *hub, uint64_t id)
{
    struct stream_acct *a = acct_find(hub, id);
    if (a)
        return a;
    if ((hub->nacct + 1) * 2 > hub->acap)
        acct_grow(hub);
    a = xcalloc(1, sizeof(*a));
    a->id = id;
    hub->accts[acct_slot(hub, id)] = a;
    hub->nacct++;
    return a;
}

/* Linear probing with backward-shift deletion, so lookups need no tombstones. */
static void acct_remove(struct stream_hub *hub, uint64_t id)
{
    size_t mask = hub->acap - 1, i = acct_slot(hub, id);
    ASSERT(hub->accts[i]);
    free(hub->accts[i]);
    hub->accts[i] = NULL;
    hub->nacct--;
    for (size_t j = (i + 1) & mask; hub->accts[j]; j = (j + 1) & mask) {
        size_t home = hash64(hub->accts[j]->id) & mask;
        bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            hub->accts[i] = hub->accts[j];
            hub->accts[j] = NULL;
            i = j;
        }
    }
}

enum reserve_result { RESERVED, FULL_TOTAL, FULL_ACCOUNT, STOPPING };

static enum reserve_result reserve(struct stream_hub *hub, bool authed, uint64_t account)
{
    enum reserve_result r = RESERVED;
    pthread_mutex_lock(&hub->lock);
    if (hub->stopping) {
        r = STOPPING;
    } else if (hub->total >= hub->cfg.max_connections) {
        r = FULL_TOTAL;
    } else if (authed) {
        struct stream_acct *a = acct_get(hub, account);
        if (a->reserved >= hub->cfg.max_per_account) {
            r = FULL_ACCOUNT;
            if (a->reserved == 0)
                acct_remove(hub, account);
        } else {
            a->reserved++;
        }
    }
    if (r == RESERVED)
        hub->total++;
    pthread_mutex_unlock(&hub->lock);
    return r;
}

void stream_hub_release(struct stream_hub *hub, bool authed, uint64_t account)
{
    pthread_mutex_lock(&hub->lock);
    ASSERT(hub->total > 0);
    hub->total--;
    if (authed) {
        struct stream_acct *a = acct_find(hub, account);
        ASSERT(a && a->reserved > 0);
        if (--a->reserved == 0) {
            ASSERT(!a->conns);
            acct_remove(hub, account);
        }
    }
    pthread_mutex_unlock(&hub->lock);
}

bool stream_hub_account_connected(struct stream_hub *hub, uint64_t account)
{
    pthread_mutex_lock(&hub->lock);
    bool on = acct_find(hub, account) != NULL; /* accounts leave the table at 0 streams */
    pthread_mutex_unlock(&hub->lock);
    return on;
}

unsigned stream_hub_connections(struct stream_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    unsigned n = hub->total;
    pthread_mutex_unlock(&hub->lock);
    return n;
}

/* ---- the queue from any thread to the loop ---- */

static void wake(struct stream_hub *hub)
{
    uint64_t one = 1;
    while (write(hub->evfd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

/* Appends m under hub->lock; wakes the loop when the queue was empty (it drains it whole). */
static void enqueue_locked(struct stream_hub *hub, struct stream_msg *m)
{
    bool was_empty = !hub->qhead;
    m->next = NULL;
    if (hub->qtail)
        hub->qtail->next = m;
    else
        hub->qhead = m;
    hub->qtail = m;
    hub->qbytes += m->bytes;
    if (was_empty)
        wake(hub);
}

bool stream_hub_enqueue_conn(struct stream_hub *hub, struct sconn *c)
{
    struct stream_msg *m = xcalloc(1, sizeof(*m));
    m->type = MSG_CONN_NEW;
    m->conn = c;
    pthread_mutex_lock(&hub->lock);
    bool ok = !hub->stopping;
    if (ok)
        enqueue_locked(hub, m);
    pthread_mutex_unlock(&hub->lock);
    if (!ok)
        free(m);
    return ok;
}

void stream_sse_gone(struct stream_hub *hub, struct sconn *c)
{
    struct stream_msg *m = xcalloc(1, sizeof(*m));
    m->type = MSG_SSE_DONE;
    m->conn = c;
    pthread_mutex_lock(&hub->lock);
    enqueue_locked(hub, m);
    pthread_mutex_unlock(&hub->lock);
}

static bool valid_event(const char *e)
{
    size_t n = e ? strlen(e) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((e[i] >= 'a' && e[i] <= 'z') || (e[i] >= 'A' && e[i] <= 'Z') ||
              (e[i] >= '0' && e[i] <= '9') || e[i] == '.' || e[i] == '_' || e[i] == '-' ||
              e[i] == ':'))
            return false;
    return true;
}

int stream_hub_publish(struct stream_hub *hub, const char *stream, uint64_t account,
                       const char *event, const char *payload, struct err *err)
{
    int kind = stream_kind_parse(stream);
    if (kind < 0)
        return err_set(err, ERR_INVALID, "unknown stream '%s'", stream ? stream : "(null)");
    if (!valid_event(event))
        return err_set(err, ERR_INVALID, "bad event name");
    size_t elen = strlen(event), plen = payload ? strlen(payload) : 0;
    struct stream_msg *m = xmalloc(sizeof(*m) + elen + 1 + (payload ? plen + 1 : 0));
    memset(m, 0, sizeof(*m));
    m->type = MSG_PUBLISH;
    m->kind = (enum stream_kind)kind;
    m->account = account;
    m->bytes = sizeof(*m) + elen + plen;
    m->event = (char *)(m + 1);
    memcpy(m->event, event, elen + 1);
    if (payload) {
        m->payload = m->event + elen + 1;
        memcpy(m->payload, payload, plen + 1);
    }
    pthread_mutex_lock(&hub->lock);
    bool ok = !hub->stopping && hub->qbytes + m->bytes <= hub->cfg.max_queue;
    if (ok)
        enqueue_locked(hub, m);
    pthread_mutex_unlock(&hub->lock);
    if (!ok) {
        free(m);
        metrics_add(hub->dropped, 1);
        return err_set(err, ERR_UNAVAILABLE, "streaming queue full or stopped; event dropped");
    }
    return 0;
}

/* ---- loop: lists, fan-out, heartbeat ---- */

static void conn_link(struct stream_hub *hub, struct sconn *c)
{
    c->live = true;
    c->next = hub->conns;
    if (hub->conns)
        hub->conns->prev = c;
    hub->conns = c;
    if (c->authed) {
        pthread_mutex_lock(&hub->lock);
        c->acct = acct_find(hub, c->account);
        pthread_mutex_unlock(&hub->lock);
        ASSERT(c->acct);
        c->anext = c->acct->conns;
        if (c->anext)
            c->anext->aprev = c;
        c->acct->conns = c;
    }
    metrics_add(hub->open[c->type], 1);
}

void stream_conn_unlink(struct stream_hub *hub, struct sconn *c)
{
    if (!c->live)
        return;
    c->live = false;
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->acct) {
        if (c->aprev)
            c->aprev->anext = c->anext;
        else
            c->acct->conns = c->anext;
        if (c->anext)
            c->anext->aprev = c->aprev;
        c->acct = NULL;
    }
    metrics_add(hub->open[c->type], -1);
    stream_hub_release(hub, c->authed, c->account);
}

static void add_target(struct stream_hub *hub, struct sconn *c)
{
    if (hub->ntargets == hub->targets_cap) {
        hub->targets_cap = hub->targets_cap ? hub->targets_cap * 2 : 64;
        hub->targets = xrealloc(hub->targets, hub->targets_cap * sizeof(*hub->targets));
    }
    hub->targets[hub->ntargets++] = c;
}

static void format_ws(struct buf *b, enum stream_kind k, const struct stream_msg *m)
{
    buf_reset(b);
    buf_append_str(b, "{\"stream\":[");
    buf_append_json_str(b, kind_names[k], strlen(kind_names[k]));
    buf_append_str(b, "],\"event\":");
    buf_append_json_str(b, m->event, strlen(m->event));
    if (m->payload) {
        buf_append_str(b, ",\"payload\":");
        buf_append_json_str(b, m->payload, strlen(m->payload));
    }
    buf_append_char(b, '}');
}

/* SSE: one data line per payload line (a compact JSON text has one). */
static void format_sse(struct buf *b, const struct stream_msg *m)
{
    buf_reset(b);
    buf_appendf(b, "event: %s\n", m->event);
    const char *p = m->payload ? m->payload : "undefined";
    for (;;) {
        size_t n = strcspn(p, "\r\n");
        buf_append_str(b, "data: ");
        buf_append(b, p, n);
        buf_append_char(b, '\n');
        p += n;
        if (*p == '\r' && p[1] == '\n')
            p++;
        if (!*p++)
            break;
    }
    buf_append_char(b, '\n');
}

/* Sends m to every live target subscribed to kind k. A send may close its target; closed
 * targets stay allocated until the end of the loop iteration (hub->dead), so later passes
 * just skip them. */
static void deliver(struct stream_hub *hub, enum stream_kind k, const struct stream_msg *m,
                    struct buf *frame)
{
    bool ws_ready = false, sse_ready = false;
    /* As in Mastodon, the user stream carries notifications only to tokens that may read them. */
    bool note = k == SK_USER && strcmp(m->event, "notification") == 0;
    for (size_t i = 0; i < hub->ntargets; i++) {
        struct sconn *c = hub->targets[i];
        if (!c->live || !(c->subs & SK_BIT(k)) ||
            (note && !(c->grants & STREAM_GRANT_NOTIFICATIONS)))
            continue;
        if (c->type == SC_WS) {
            if (!ws_ready)
                format_ws(frame, k, m);
            ws_ready = true;
            stream_ws_send_text(c, frame->data, frame->len);
        } else {
            if (!sse_ready)
                format_sse(&hub->sse, m);
            sse_ready = true;
            stream_sse_send(c, hub->sse.data, hub->sse.len, true);
        }
    }
}

static void fan_out(struct stream_hub *hub, const struct stream_msg *m)
{
    hub->ntargets = 0;
    if (m->kind == SK_PUBLIC || m->kind == SK_PUBLIC_LOCAL) {
        for (struct sconn *c = hub->conns; c; c = c->next)
            if (c->subs & SK_BIT(m->kind))
                add_target(hub, c);
        deliver(hub, m->kind, m, &hub->frame);
        return;
    }
    /* The account's list belongs to the loop, but the table holding it does not. */
    pthread_mutex_lock(&hub->lock);
    struct stream_acct *a = acct_find(hub, m->account);
    for (struct sconn *c = a ? a->conns : NULL; c; c = c->anext)
        add_target(hub, c);
    pthread_mutex_unlock(&hub->lock);
    if (m->kind == SK_USER) {
        deliver(hub, SK_USER, m, &hub->frame);
        /* As in Mastodon, user:notification carries the notifications of the user stream. */
        if (strcmp(m->event, "notification") != 0)
            return;
    }
    deliver(hub, SK_USER_NOTIFICATION, m, &hub->frame);
}

/* Frees the WebSocket connections closed during this iteration. */
static void free_dead(struct stream_hub *hub)
{
    while (hub->dead) {
        struct sconn *c = hub->dead;
        hub->dead = c->next;
        free(c);
    }
}

static void heartbeat(struct stream_hub *hub, int64_t now)
{
    static const char thump[] = ":thump\n";
    struct sconn *next;
    for (struct sconn *c = hub->conns; c; c = next) {
        next = c->next;
        if (c->type == SC_WS)
            stream_ws_heartbeat(c, now);
        else
            stream_sse_send(c, thump, sizeof(thump) - 1, false);
    }
}

static void close_all(struct stream_hub *hub)
{
    while (hub->conns) {
        struct sconn *c = hub->conns;
        if (c->type == SC_WS) {
            stream_ws_close(c, WSLAY_CODE_GOING_AWAY);
        } else {
            stream_sse_end(c);
            stream_sse_detach(c);
        }
    }
    free_dead(hub);
}

static void handle(struct stream_hub *hub, struct stream_msg *m)
{
    switch (m->type) {
    case MSG_PUBLISH:
        fan_out(hub, m);
        break;
    case MSG_CONN_NEW:
        conn_link(hub, m->conn);
        if (m->conn->type == SC_WS)
            stream_ws_start(m->conn);
        break;
    case MSG_SSE_DONE:
        stream_sse_detach(m->conn);
        stream_sse_unref(m->conn); /* libmicrohttpd's reference, carried by the message */
        break;
    }
    free(m);
}

/* Takes the whole queue; returns true when the hub is stopping (after this batch). */
static bool drain(struct stream_hub *hub)
{
    uint64_t v;
    while (read(hub->evfd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&hub->lock);
    struct stream_msg *m = hub->qhead;
    hub->qhead = hub->qtail = NULL;
    hub->qbytes = 0;
    bool stop = hub->stopping;
    pthread_mutex_unlock(&hub->lock);
    while (m) {
        struct stream_msg *next = m->next;
        handle(hub, m);
        m = next;
    }
    return stop;
}

static void *loop_main(void *arg)
{
    struct stream_hub *hub = arg;
    struct epoll_event evs[256];
    hub->next_beat_ms = clock_monotonic_ms() + hub->cfg.heartbeat_ms;
    for (;;) {
        int64_t now = clock_monotonic_ms();
        int timeout = hub->next_beat_ms > now ? (int)(hub->next_beat_ms - now) : 0;
        int n = epoll_wait(hub->epfd, evs, 256, timeout);
        bool stop = false;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                stop = drain(hub) || stop;
            else
                stream_ws_event(evs[i].data.ptr, evs[i].events);
        }
        now = clock_monotonic_ms();
        if (!stop && now >= hub->next_beat_ms) {
            heartbeat(hub, now);
            hub->next_beat_ms = now + hub->cfg.heartbeat_ms;
        }
        free_dead(hub);
        if (stop)
            break;
    }
    close_all(hub);
    return NULL;
}

/* ---- HTTP: tokens, limits, routes ---- */

/* The access token from Authorization: Bearer, ?access_token=, or (WebSocket) the first
 * Sec-WebSocket-Protocol value, which *protocol then names so the 101 can echo it. */
static const char *find_token(struct http_req *req, bool ws, const char **protocol)
{
    struct arena *a = http_req_arena(req);
    const char *token = NULL;
    const char *h = http_req_header(req, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        if (*h)
            token = h;
    }
    if (!token) {
        const char *q = http_req_arg(req, "access_token");
        if (q && *q)
            token = q;
    }
    *protocol = NULL;
    const char *p = ws ? http_req_header(req, "Sec-WebSocket-Protocol") : NULL;
    if (p) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ", \t");
        if (n > 0) {
            *protocol = arena_strndup(a, p, n);
            if (!token)
                token = *protocol;
        }
    }
    return token;
}

/* Authenticates, checks the token may read kind (-1: a WebSocket without ?stream=, checked at
 * each subscribe) and takes a slot; on failure the response is set and false returned. */
static bool admit(struct stream_hub *hub, struct http_req *req, struct http_res *res,
                  const char *token, int kind, bool *authed, uint64_t *account, unsigned *grants)
{
    bool need_user = kind == SK_USER || kind == SK_USER_NOTIFICATION;
    *authed = false;
    *account = 0;
    *grants = 0;
    if (token) {
        struct err err = {0};
        int rc = hub->cfg.auth(hub->cfg.auth_ctx, token, account, grants, &err);
        if (rc == ERR_UNAVAILABLE || rc == ERR_INTERNAL) {
            log_printf(hub->cfg.log, LOG_WARN, http_req_id(req), "streaming auth: %s", err.msg);
            http_res_error(res, 503, "Service unavailable");
            return false;
        }
        if (rc != 0) {
            metrics_add(hub->rej_auth, 1);
            http_res_error(res, 401, "The access token is invalid");
            return false;
        }
        *authed = true;
        if (kind >= 0 && !stream_kind_allowed(kind, true, *grants)) {
            metrics_add(hub->rej_auth, 1);
            http_res_error(res, 401, STREAM_SCOPE_ERROR);
            return false;
        }
    } else if (need_user) {
        metrics_add(hub->rej_auth, 1);
        http_res_error(res, 401, "Missing access token");
        return false;
    }
    switch (reserve(hub, *authed, *account)) {
    case RESERVED:
        return true;
    case FULL_TOTAL:
        metrics_add(hub->rej_total, 1);
        http_res_error(res, 429, "Too many streaming connections");
        return false;
    case FULL_ACCOUNT:
        metrics_add(hub->rej_account, 1);
        http_res_error(res, 429, "Too many streaming connections for this account");
        return false;
    case STOPPING:
        break;
    }
    http_res_error(res, 503, "Server is shutting down");
    return false;
}

static bool has_token(const char *list, const char *want)
{
    size_t wn = strlen(want);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m == wn && strncasecmp(p, want, wn) == 0)
            return true;
        p += n;
    }
    return false;
}

static void open_sse(struct stream_hub *hub, struct http_req *req, struct http_res *res,
                     enum stream_kind kind)
{
    const char *protocol;
    const char *token = find_token(req, false, &protocol);
    bool authed;
    uint64_t account;
    unsigned grants;
    bool need_user = kind == SK_USER || kind == SK_USER_NOTIFICATION;
    if (http_req_method(req) == HTTP_HEAD) {
        /* The headers a GET would get, without opening a stream. */
        if (need_user && !token)
            http_res_error(res, 401, "Missing access token");
        else
            http_res_static(res, 200, "text/event-stream", "", 0);
        return;
    }
    if (!admit(hub, req, res, token, (int)kind, &authed, &account, &grants))
        return;
    stream_sse_open(hub, req, res, kind, authed, account, grants);
}

static void on_websocket(struct http_req *req, struct http_res *res, void *ctx)
{
    struct stream_hub *hub = ctx;
    const char *upgrade = http_req_header(req, "Upgrade");
    const char *stream = http_req_arg(req, "stream");
    int kind = stream ? stream_kind_parse(stream) : -1;
    if (!upgrade || http_req_method(req) == HTTP_HEAD) {
        /* Mastodon serves SSE here too, for ?stream=. */
        if (kind < 0) {
            http_res_error(res, 400, "Unknown channel requested");
            return;
        }
        open_sse(hub, req, res, (enum stream_kind)kind);
        return;
    }
    if (!has_token(upgrade, "websocket")) {
        http_res_error(res, 400, "Unsupported upgrade");
        return;
    }
    if (stream && kind < 0) {
        http_res_error(res, 400, "Unknown stream type");
        return;
    }
    if (!stream_ws_valid(req, res))
        return;
    const char *protocol;
    const char *token = find_token(req, true, &protocol);
    bool authed;
    uint64_t account;
    unsigned grants;
    if (!admit(hub, req, res, token, kind, &authed, &account, &grants))
        return;
    stream_ws_handshake(hub, req, res, kind >= 0 ? SK_BIT(kind) : 0, authed, account, grants,
                        protocol);
}

static void on_sse_user(struct http_req *req, struct http_res *res, void *ctx)
{
    open_sse(ctx, req, res, SK_USER);
}

static void on_sse_user_notification(struct http_req *req, struct http_res *res, void *ctx)
{
    open_sse(ctx, req, res, SK_USER_NOTIFICATION);
}

static void on_sse_public(struct http_req *req, struct http_res *res, void *ctx)
{
    open_sse(ctx, req, res, SK_PUBLIC);
}

static void on_sse_public_local(struct http_req *req, struct http_res *res, void *ctx)
{
    open_sse(ctx, req, res, SK_PUBLIC_LOCAL);
}

static void on_health(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    (void)ctx;
    http_res_static(res, 200, "text/plain; charset=utf-8", "OK", 2);
}

static void on_unknown_channel(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    (void)ctx;
    http_res_error(res, 400, "Unknown channel requested");
}

/* ---- lifecycle ---- */

static void stop_loop(struct stream_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    hub->stopping = true;
    wake(hub);
    pthread_mutex_unlock(&hub->lock);
    if (hub->thread_started && !hub->joined) {
        pthread_join(hub->thread, NULL);
        hub->joined = true;
    }
}

static void on_server_shutdown(void *ctx)
{
    stop_loop(ctx);
}

struct stream_hub *stream_hub_new(struct http_server *s, const struct stream_hub_config *cfg)
{
    ASSERT(cfg->auth && cfg->log && cfg->metrics);
    struct stream_hub *hub = xcalloc(1, sizeof(*hub));
    hub->cfg = *cfg;
    if (!hub->cfg.max_connections)
        hub->cfg.max_connections = 10000;
    if (!hub->cfg.max_per_account)
        hub->cfg.max_per_account = 16;
    if (!hub->cfg.send_buffer)
        hub->cfg.send_buffer = 1 << 20;
    if (!hub->cfg.heartbeat_ms)
        hub->cfg.heartbeat_ms = 15000;
    if (!hub->cfg.max_queue)
        hub->cfg.max_queue = 64 << 20;
    pthread_mutex_init(&hub->lock, NULL);
    hub->epfd = epoll_create1(EPOLL_CLOEXEC);
    hub->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT(hub->epfd >= 0 && hub->evfd >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    ASSERT(epoll_ctl(hub->epfd, EPOLL_CTL_ADD, hub->evfd, &ev) == 0);

    static const char *const type_label[] = {"type"};
    static const char *const reason_label[] = {"reason"};
    static const char *const types[2][1] = {{"websocket"}, {"eventsource"}};
    struct metric_family *open =
        metrics_gauge(cfg->metrics, "streaming_connected_clients",
                      "Open streaming connections, by transport.", 1, type_label);
    struct metric_family *sent = metrics_counter(
        cfg->metrics, "streaming_messages_sent_total",
        "Events queued to streaming clients (one per client), by transport.", 1, type_label);
    struct metric_family *slow = metrics_counter(
        cfg->metrics, "streaming_slow_client_disconnects_total",
        "Streaming clients cut off because their send buffer was full, by transport.", 1,
        type_label);
    struct metric_family *rej =
        metrics_counter(cfg->metrics, "streaming_connections_rejected_total",
                        "Streaming connections refused, by reason.", 1, reason_label);
    struct metric_family *dropped =
        metrics_counter(cfg->metrics, "streaming_events_dropped_total",
                        "Published events dropped because the streaming queue was full.", 0, NULL);
    for (int t = 0; t < 2; t++) {
        hub->open[t] = metrics_series(open, types[t]);
        hub->sent[t] = metrics_series(sent, types[t]);
        hub->slow[t] = metrics_series(slow, types[t]);
    }
    const char *r_total[] = {"total_limit"}, *r_account[] = {"account_limit"},
               *r_auth[] = {"unauthorized"};
    hub->rej_total = metrics_series(rej, r_total);
    hub->rej_account = metrics_series(rej, r_account);
    hub->rej_auth = metrics_series(rej, r_auth);
    hub->dropped = metrics_series(dropped, NULL);
    hub->ws_busy = metrics_series(
        metrics_gauge(cfg->metrics, "streaming_websocket_busy",
                      "WebSockets holding a wslay context (8.6 KB): a frame half received or "
                      "half sent, a fragmented message, a close in progress; idle ones hold none.",
                      0, NULL),
        NULL);

    http_route(s, HTTP_GET, "/api/v1/streaming", on_websocket, hub);
    http_route(s, HTTP_GET, "/api/v1/streaming/health", on_health, NULL);
    http_route(s, HTTP_GET, "/api/v1/streaming/user", on_sse_user, hub);
    http_route(s, HTTP_GET, "/api/v1/streaming/user/notification", on_sse_user_notification, hub);
    http_route(s, HTTP_GET, "/api/v1/streaming/public", on_sse_public, hub);
    http_route(s, HTTP_GET, "/api/v1/streaming/public/local", on_sse_public_local, hub);
    http_route(s, HTTP_GET, "/api/v1/streaming/:channel", on_unknown_channel, NULL);
    http_route(s, HTTP_GET, "/api/v1/streaming/:channel/:sub", on_unknown_channel, NULL);
    http_server_on_shutdown(s, on_server_shutdown, hub);

    ASSERT(pthread_create(&hub->thread, NULL, loop_main, hub) == 0);
    hub->thread_started = true;
    return hub;
}

void stream_hub_free(struct stream_hub *hub)
{
    if (!hub)
        return;
    stop_loop(hub);
    /* What came after the loop's last drain: ends of SSE responses, nothing else. */
    struct stream_msg *m = hub->qhead;
    while (m) {
        struct stream_msg *next = m->next;
        if (m->type == MSG_SSE_DONE)
            stream_sse_unref(m->conn);
        ASSERT(m->type != MSG_CONN_NEW);
        free(m);
        m = next;
    }
    ASSERT(hub->nacct == 0 && hub->total == 0);
    free(hub->accts);
    free(hub->targets);
    buf_release(&hub->frame);
    buf_release(&hub->sse);
    close(hub->epfd);
    close(hub->evfd);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}
