/* stream_ws.c - the WebSocket transport of the streaming hub: the RFC 6455 handshake answered
 * with libmicrohttpd's upgrade, then wslay on the upgraded socket, on the hub's loop thread
 * only (wslay is not thread-safe). Client messages are Mastodon's subscribe/unsubscribe. */
#include "lib/base/clock.h"
#include "lib/base/xalloc.h"
#include "lib/http/stream_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define WS_MAX_CLIENT_MESSAGE 16384

/* ---- handshake: SHA-1 and base64 for Sec-WebSocket-Accept (RFC 6455 section 4.2.2) ---- */

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

/* For short inputs only (the key and the GUID: 60 bytes). */
static void sha1(const uint8_t *data, size_t n, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    uint8_t block[128] = {0};
    ASSERT(n <= sizeof(block) - 9);
    memcpy(block, data, n);
    block[n] = 0x80;
    size_t total = n + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        block[total - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64)
        sha1_block(h, block + off);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void accept_key(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t in[64], d[21] = {0};
    size_t kn = strlen(key);
    memcpy(in, key, kn);
    memcpy(in + kn, guid, sizeof(guid) - 1);
    sha1(in, kn + sizeof(guid) - 1, d);
    char *o = out;
    for (int i = 0; i < 21; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = i + 1 < 20 ? b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < 20 ? b64[v & 63] : '=';
    }
    *o = '\0';
}

/* A key is 16 bytes in base64: 22 characters and "==". */
static bool valid_key(const char *k)
{
    if (!k || strlen(k) != 24 || strcmp(k + 22, "==") != 0)
        return false;
    for (int i = 0; i < 22; i++)
        if (!strchr(b64, k[i]) || k[i] == '\0')
            return false;
    return true;
}

bool stream_ws_valid(struct http_req *req, struct http_res *res)
{
    const char *version = http_req_header(req, "Sec-WebSocket-Version");
    if (!version || strcmp(version, "13") != 0) {
        http_res_header(res, "Sec-WebSocket-Version", "13");
        http_res_error(res, 426, "Unsupported WebSocket version");
        return false;
    }
    if (!valid_key(http_req_header(req, "Sec-WebSocket-Key"))) {
        http_res_error(res, 400, "Bad Sec-WebSocket-Key");
        return false;
    }
    return true;
}

/* ---- from the handler to the loop ---- */

/* Lives from the handshake to the end of the HTTP request (libmicrohttpd's completion, which
 * for an upgraded connection comes after the socket is closed). */
struct ws_pending {
    struct stream_hub *hub;
    bool authed;
    uint64_t account;
    unsigned grants;
    unsigned subs;
    atomic_bool handed; /* the upgrade happened: the slot went with the socket */
};

static void pending_done(void *ctx)
{
    struct ws_pending *p = ctx;
    if (!atomic_load(&p->handed))
        stream_hub_release(p->hub, p->authed, p->account);
    free(p);
}

/* On a libmicrohttpd thread, right after the 101 went out. The loop keeps a dup(2) of the
 * socket and libmicrohttpd is told at once that the application is done with it: it then
 * frees the connection, its memory pool and (through the completion callback, which writes
 * the access log line with status 101) lib/http's request, and closes its own descriptor.
 * libmicrohttpd 0.9.75 does not shutdown(2) an upgraded plain-TCP socket on that path
 * (cleanup_connection only close(2)s it, and a suspended connection is out of its epoll set
 * already), so the socket stays open through our descriptor; with TLS it would (the
 * socketpair), and lib/http does not use libmicrohttpd's TLS. */
static void on_upgraded(void *cls, struct MHD_Connection *conn, void *req_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock,
                        struct MHD_UpgradeResponseHandle *urh)
{
    struct ws_pending *p = cls;
    (void)conn;
    (void)req_cls;
    atomic_store(&p->handed, true);
    int fd = fcntl(sock, F_DUPFD_CLOEXEC, 0);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    if (fd < 0) {
        log_printf(p->hub->cfg.log, LOG_WARN, NULL, "streaming: dup: %s", strerror(errno));
        stream_hub_release(p->hub, p->authed, p->account);
        return;
    }
    struct sconn *c = xcalloc(1, sizeof(*c));
    c->type = SC_WS;
    c->hub = p->hub;
    c->authed = p->authed;
    c->account = p->account;
    c->grants = p->grants;
    c->subs = p->subs;
    c->fd = fd;
    if (extra_in_size) {
        c->extra = xmalloc(extra_in_size);
        memcpy(c->extra, extra_in, extra_in_size);
        c->extra_len = extra_in_size;
    }
    if (!stream_hub_enqueue_conn(p->hub, c)) {
        close(fd);
        stream_hub_release(p->hub, p->authed, p->account);
        free(c->extra);
        free(c);
    }
}

void stream_ws_handshake(struct stream_hub *hub, struct http_req *req, struct http_res *res,
                         unsigned subs, bool authed, uint64_t account, unsigned grants,
                         const char *protocol)
{
    struct ws_pending *p = xcalloc(1, sizeof(*p));
    p->hub = hub;
    p->authed = authed;
    p->account = account;
    p->grants = grants;
    p->subs = subs;
    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, p);
    ASSERT(r);
    char accept[29];
    accept_key(http_req_header(req, "Sec-WebSocket-Key"), accept);
    MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
    MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
    /* Chromium and Node's ws drop the socket unless the offered subprotocol (masto.js sends
     * the token there) comes back. */
    if (protocol)
        MHD_add_response_header(r, "Sec-WebSocket-Protocol", protocol);
    http_res_mhd(res, 101, NULL, r);
    http_req_on_done(req, pending_done, p);
}

/* ---- on the loop ---- */

/* wslay's context is 8.6 KB (two 4 KiB buffers), which is most of what an idle connection
 * would cost. It exists only while there is something to do: created when the socket is
 * readable or a frame must be sent, freed by ws_release() once the connection is idle again.
 * Idle means that wslay holds nothing a fresh context would not: no partial frame received
 * (the recv callback never hands wslay bytes past the end of the current frame, and tracks
 * where frames end), no fragmented message open, nothing queued or half written, no close
 * sent or received, no error. */

/* How many of the next bytes belong to the current frame, at most len. */
static size_t rx_room(const struct sconn *c, size_t len)
{
    uint64_t room;
    if (c->rx_in_payload) {
        room = c->rx_left;
    } else if (c->rx_hlen < 2) {
        room = 2u - c->rx_hlen;
    } else {
        unsigned l7 = c->rx_hdr[1] & 0x7f;
        unsigned total = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (c->rx_hdr[1] & 0x80 ? 4 : 0);
        room = total - c->rx_hlen;
    }
    return room < len ? (size_t)room : len;
}

static void rx_frame_end(struct sconn *c)
{
    unsigned opcode = c->rx_hdr[0] & 0x0f;
    if (opcode < 8) /* data or continuation; control frames may come between fragments */
        c->rx_msg_open = !(c->rx_hdr[0] & 0x80);
    c->rx_in_payload = false;
    c->rx_hlen = 0;
}

/* Follows n bytes (never past the current frame: see rx_room) on their way to wslay. */
static void rx_track(struct sconn *c, const uint8_t *p, size_t n)
{
    while (n) {
        if (c->rx_in_payload) {
            size_t k = c->rx_left < n ? (size_t)c->rx_left : n;
            c->rx_left -= k;
            p += k;
            n -= k;
            if (c->rx_left == 0)
                rx_frame_end(c);
            continue;
        }
        if (c->rx_hlen < sizeof(c->rx_hdr))
            c->rx_hdr[c->rx_hlen] = *p;
        c->rx_hlen++;
        p++;
        n--;
        if (c->rx_hlen < 2 || rx_room(c, SIZE_MAX) > 0)
            continue;
        /* header complete */
        unsigned l7 = c->rx_hdr[1] & 0x7f;
        uint64_t len = l7;
        if (l7 >= 126) {
            len = 0;
            for (int i = 0; i < (l7 == 126 ? 2 : 8); i++)
                len = len << 8 | c->rx_hdr[2 + i];
        }
        c->rx_left = len;
        if (len == 0)
            rx_frame_end(c);
        else
            c->rx_in_payload = true;
    }
}

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    struct sconn *c = user;
    (void)flags;
    len = rx_room(c, len);
    if (c->extra_off < c->extra_len) {
        size_t n = c->extra_len - c->extra_off < len ? c->extra_len - c->extra_off : len;
        memcpy(buf, c->extra + c->extra_off, n);
        c->extra_off += n;
        if (c->extra_off == c->extra_len) {
            free(c->extra);
            c->extra = NULL;
            c->extra_len = c->extra_off = 0;
        }
        rx_track(c, buf, n);
        return (ssize_t)n;
    }
    ssize_t r;
    while ((r = recv(c->fd, buf, len, 0)) < 0 && errno == EINTR)
        ;
    if (r > 0) {
        c->last_recv_ms = clock_monotonic_ms();
        rx_track(c, buf, (size_t)r);
        return r;
    }
    wslay_event_set_error(ctx, r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                                   ? WSLAY_ERR_WOULDBLOCK
                                   : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    struct sconn *c = user;
    ssize_t r;
    int f = MSG_NOSIGNAL | (flags & WSLAY_MSG_MORE ? MSG_MORE : 0);
    while ((r = send(c->fd, data, len, f)) < 0 && errno == EINTR)
        ;
    if (r >= 0)
        return r;
    wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK
                                   ? WSLAY_ERR_WOULDBLOCK
                                   : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user);

static const struct wslay_event_callbacks ws_callbacks = {
    .recv_callback = on_recv, .send_callback = on_send, .on_msg_recv_callback = on_msg};

static wslay_event_context_ptr ws_get(struct sconn *c)
{
    if (!c->ws) {
        ASSERT(wslay_event_context_server_init(&c->ws, &ws_callbacks, c) == 0);
        wslay_event_config_set_max_recv_msg_length(c->ws, WS_MAX_CLIENT_MESSAGE);
        metrics_add(c->hub->ws_busy, 1);
    }
    return c->ws;
}

static bool ws_idle(const struct sconn *c)
{
    wslay_event_context_ptr ws = c->ws;
    return !c->rx_in_payload && c->rx_hlen == 0 && !c->rx_msg_open && !c->cut &&
           c->extra_off == c->extra_len && wslay_event_get_read_enabled(ws) &&
           wslay_event_get_write_enabled(ws) && !wslay_event_get_close_received(ws) &&
           !wslay_event_get_close_sent(ws) && wslay_event_get_queued_msg_count(ws) == 0 &&
           !wslay_event_want_write(ws);
}

static void ws_release(struct sconn *c)
{
    if (c->ws && ws_idle(c)) {
        wslay_event_context_free(c->ws);
        c->ws = NULL;
        metrics_add(c->hub->ws_busy, -1);
    }
}

/* Queues a text message unless that would pass the send-buffer bound: then the client is too
 * slow and c->cut is set (the caller closes c, never from inside a wslay callback). */
static bool queue_text(struct sconn *c, const char *s, size_t n, bool count)
{
    struct stream_hub *hub = c->hub;
    if (c->cut || !wslay_event_get_write_enabled(ws_get(c)))
        return !c->cut;
    if (wslay_event_get_queued_msg_length(c->ws) + n > hub->cfg.send_buffer) {
        c->cut = true;
        metrics_add(hub->slow[SC_WS], 1);
        struct log_line l;
        log_begin(hub->cfg.log, &l, LOG_WARN, NULL, "streaming client too slow; disconnected");
        log_str(&l, "transport", "websocket");
        log_int(&l, "account", (int64_t)c->account);
        log_int(&l, "queued", (int64_t)wslay_event_get_queued_msg_length(c->ws));
        log_end(hub->cfg.log, &l);
        return false;
    }
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)s, n};
    if (wslay_event_queue_msg(c->ws, &msg) != 0)
        return true; /* a close is queued: nothing more goes out */
    if (count)
        metrics_add(hub->sent[SC_WS], 1);
    return true;
}

static void send_error(struct sconn *c, const char *msg, int status)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "{\"error\":");
    buf_append_json_str(&b, msg, strlen(msg));
    buf_appendf(&b, ",\"status\":%d}", status);
    queue_text(c, b.data, b.len, false);
    buf_release(&b);
}

/* {"type":"subscribe"|"unsubscribe","stream":"..."}; anything else gets an error frame. */
static void on_client_message(struct sconn *c, const uint8_t *data, size_t n)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, n, JSON_REJECT_DUPLICATES, &jerr);
    const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;
    const char *stream = j ? json_string_value(json_object_get(j, "stream")) : NULL;
    if (!j || !json_is_object(j)) {
        send_error(c, "Bad request: not a JSON object", 400);
    } else if (!type || (strcmp(type, "subscribe") != 0 && strcmp(type, "unsubscribe") != 0)) {
        send_error(c, "Unknown message type", 400);
    } else {
        int k = stream_kind_parse(stream);
        if (k < 0) {
            send_error(c, "Unknown stream type", 400);
        } else if (type[0] == 'u') {
            c->subs &= ~SK_BIT(k);
        } else if (!stream_kind_allowed(k, c->authed, c->grants)) {
            send_error(c, c->authed ? STREAM_SCOPE_ERROR : "Missing access token", 401);
        } else {
            c->subs |= SK_BIT(k);
        }
    }
    json_decref(j);
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    struct sconn *c = user;
    (void)ctx;
    if (arg->opcode == WSLAY_TEXT_FRAME)
        on_client_message(c, arg->msg, arg->msg_length);
    else if (arg->opcode == WSLAY_BINARY_FRAME)
        send_error(c, "Binary messages are not supported", 400);
    /* Pings, pongs and close are answered by wslay. */
}

/* Flushes what it can and sets the epoll interest; closes c when wslay is done with it, drops
 * wslay's context when c is idle. */
static void update(struct sconn *c)
{
    bool r = true, w = false;
    if (c->ws) {
        if (wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0) {
            stream_ws_close(c, 0);
            return;
        }
        r = wslay_event_want_read(c->ws);
        w = wslay_event_want_write(c->ws);
        if (!r && !w) {
            stream_ws_close(c, 0);
            return;
        }
        ws_release(c);
    }
    uint32_t mask = (r ? EPOLLIN : 0) | (w ? EPOLLOUT : 0);
    if (mask != c->epoll_mask) {
        struct epoll_event ev = {.events = mask, .data.ptr = c};
        epoll_ctl(c->hub->epfd, EPOLL_CTL_MOD, c->fd, &ev);
        c->epoll_mask = mask;
    }
}

static void on_readable(struct sconn *c)
{
    /* wslay stops at a short read (WSLAY_ERR_WANT_READ) without asking again; the socket is
     * level-triggered, but the bytes read past the handshake are not in it. */
    size_t left;
    do {
        left = c->extra_len - c->extra_off;
        if (wslay_event_recv(ws_get(c)) != 0 || c->cut) {
            stream_ws_close(c, 0);
            return;
        }
    } while (c->live && c->extra_len - c->extra_off < left && wslay_event_get_read_enabled(c->ws));
    if (c->live)
        update(c);
}

void stream_ws_start(struct sconn *c)
{
    int fl = fcntl(c->fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK))
        fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
    /* libmicrohttpd turns Nagle back on for an upgraded socket; with it, a second small frame
     * (a pong, an event) waits for the client's delayed ACK, 40 ms on Linux. wslay's
     * WSLAY_MSG_MORE (MSG_MORE) still coalesces the pieces of one message. */
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->last_recv_ms = clock_monotonic_ms();
    c->epoll_mask = EPOLLIN;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(c->hub->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        log_printf(c->hub->cfg.log, LOG_WARN, NULL, "streaming: epoll_ctl: %s", strerror(errno));
        stream_ws_close(c, 0);
        return;
    }
    if (c->extra_len)
        on_readable(c);
}

void stream_ws_event(struct sconn *c, uint32_t events)
{
    if (!c->live)
        return; /* closed earlier in this iteration */
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        on_readable(c);
        if (!c->live)
            return;
    }
    if (events & EPOLLOUT)
        update(c);
}

void stream_ws_send_text(struct sconn *c, const char *s, size_t n)
{
    if (queue_text(c, s, n, true))
        update(c);
    else
        stream_ws_close(c, 0);
}

void stream_ws_heartbeat(struct sconn *c, int64_t now_ms)
{
    /* Browsers and client libraries answer pings by themselves: three silent intervals mean
     * the peer is gone (or never reads), and TCP alone would take many minutes to notice. */
    if (now_ms - c->last_recv_ms > 3 * (int64_t)c->hub->cfg.heartbeat_ms) {
        stream_ws_close(c, 0);
        return;
    }
    if (c->ws && wslay_event_get_queued_msg_length(c->ws) > c->hub->cfg.send_buffer) {
        metrics_add(c->hub->slow[SC_WS], 1);
        stream_ws_close(c, 0);
        return;
    }
    struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
    wslay_event_queue_msg(ws_get(c), &ping);
    update(c);
}

void stream_ws_close(struct sconn *c, uint16_t code)
{
    struct stream_hub *hub = c->hub;
    if (!c->live)
        return;
    if (code && wslay_event_get_write_enabled(ws_get(c))) {
        /* Best effort: one non-blocking try, no waiting for the peer's close. */
        wslay_event_queue_close(c->ws, code, NULL, 0);
        wslay_event_send(c->ws);
    }
    if (c->ws) {
        wslay_event_context_free(c->ws);
        c->ws = NULL;
        metrics_add(hub->ws_busy, -1);
    }
    epoll_ctl(hub->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    free(c->extra);
    c->extra = NULL;
    stream_conn_unlink(hub, c);
    c->next = hub->dead;
    hub->dead = c;
}
