/* stream_internal.h - what stream.c (hub, queue, event loop, routes), stream_ws.c (WebSocket)
 * and stream_sse.c (Server-Sent Events) share. Not part of lib/http's interface. */
#ifndef LIB_HTTP_STREAM_INTERNAL_H
#define LIB_HTTP_STREAM_INTERNAL_H

#include "lib/base/buf.h"
#include "lib/http/internal.h"
#include "lib/http/stream.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <wslay/wslay.h>

enum stream_kind { SK_USER, SK_USER_NOTIFICATION, SK_PUBLIC, SK_PUBLIC_LOCAL, SK_COUNT };
#define SK_BIT(k) (1u << (k))

/* Whether a stream of kind k may be read (stream.h, STREAM_GRANT_*). */
static inline bool stream_kind_allowed(int k, bool authed, unsigned grants)
{
    if (k == SK_PUBLIC || k == SK_PUBLIC_LOCAL)
        return true;
    if (!authed)
        return false;
    return (grants & (k == SK_USER ? STREAM_GRANT_STATUSES : STREAM_GRANT_NOTIFICATIONS)) != 0;
}

#define STREAM_SCOPE_ERROR "Access token does not cover required scopes"

/* "user" -> SK_USER ...; -1 for anything else. */
int stream_kind_parse(const char *name);
const char *stream_kind_name(enum stream_kind k);

enum sconn_type { SC_WS, SC_SSE };

struct stream_acct;

/* One open stream. Fields marked (loop) belong to the loop thread; the SSE fields marked (lock)
 * are shared with libmicrohttpd's thread that writes the response. */
struct sconn {
    enum sconn_type type;
    struct stream_hub *hub;
    bool authed;
    uint64_t account;
    unsigned grants;             /* STREAM_GRANT_*s of the token */
    unsigned subs;               /* SK_BIT()s (loop) */
    bool live;                   /* in the lists below (loop) */
    struct sconn *prev, *next;   /* hub->conns (loop) */
    struct sconn *aprev, *anext; /* acct->conns (loop) */
    struct stream_acct *acct;    /* NULL for anonymous streams */
    int64_t last_recv_ms;        /* (loop) */

    /* WebSocket (loop) */
    int fd; /* our dup(2) of the upgraded socket; libmicrohttpd let go of its own */
    wslay_event_context_ptr ws; /* NULL while idle: created on demand (stream_ws.c) */
    char *extra;                /* bytes libmicrohttpd read past the handshake */
    size_t extra_len, extra_off;
    uint32_t epoll_mask;
    bool cut; /* too slow: close once out of wslay's callbacks */
    /* Client frame boundaries, tracked in the recv callback so that wslay never holds a
     * partial frame when its context is dropped. */
    uint8_t rx_hdr[10]; /* first two header bytes and the extended length */
    uint8_t rx_hlen;    /* header bytes seen of the current frame */
    bool rx_in_payload;
    bool rx_msg_open; /* a fragmented data message has not seen its FIN frame */
    uint64_t rx_left; /* payload bytes of the current frame not yet passed to wslay */

    /* SSE */
    pthread_mutex_t lock;
    struct buf out; /* (lock) bytes not yet taken by libmicrohttpd */
    size_t out_off; /* (lock) */
    struct MHD_Connection *mhd;
    bool suspended;      /* (lock) libmicrohttpd waits for data */
    bool ending, failed; /* (lock) end cleanly / cut off */
    bool mhd_done;       /* (lock) the response is gone */
    atomic_int refs;     /* the loop's and libmicrohttpd's */
};

struct stream_acct {
    uint64_t id;
    unsigned reserved;   /* streams open or being opened (hub->lock) */
    struct sconn *conns; /* (loop) */
};

struct stream_msg;

struct stream_hub {
    struct stream_hub_config cfg;
    pthread_t thread;
    bool thread_started, joined;
    int epfd, evfd;

    pthread_mutex_t lock; /* everything down to `loop-owned` */
    struct stream_msg *qhead, *qtail;
    size_t qbytes;
    bool stopping;
    unsigned total;             /* streams open or being opened */
    struct stream_acct **accts; /* open addressing by id */
    size_t acap, nacct;

    /* loop-owned */
    struct sconn *conns;
    struct sconn *dead; /* closed WebSockets, freed at the end of the iteration */
    int64_t next_beat_ms;
    struct buf frame, sse; /* scratch for one fan-out */
    struct sconn **targets;
    size_t ntargets, targets_cap;

    struct metric_series *open[2], *sent[2], *slow[2];
    struct metric_series *rej_total, *rej_account, *rej_auth, *dropped;
    struct metric_series *ws_busy; /* WebSockets holding a wslay context */
};

/* stream.c */
/* Hands a new stream to the loop; false (and nothing done) once the hub is stopping. */
bool stream_hub_enqueue_conn(struct stream_hub *hub, struct sconn *c);
/* Gives back a slot taken by the request handler. Any thread. */
void stream_hub_release(struct stream_hub *hub, bool authed, uint64_t account);
/* Removes c from the loop's lists and gives back its slot. (loop) */
void stream_conn_unlink(struct stream_hub *hub, struct sconn *c);
/* libmicrohttpd is done with an SSE response: queues the end to the loop, handing over
 * libmicrohttpd's reference. Any thread, also after the loop stopped (stream_hub_free). */
void stream_sse_gone(struct stream_hub *hub, struct sconn *c);

/* stream_ws.c */
/* Checks the handshake headers; false with the error response set. */
bool stream_ws_valid(struct http_req *req, struct http_res *res);
/* Answers a WebSocket handshake on /api/v1/streaming with 101, or an error. The slot is taken
 * by the caller; this passes it on to the connection or gives it back. */
void stream_ws_handshake(struct stream_hub *hub, struct http_req *req, struct http_res *res,
                         unsigned subs, bool authed, uint64_t account, unsigned grants,
                         const char *protocol);
void stream_ws_start(struct sconn *c);                              /* (loop) links and reads */
void stream_ws_event(struct sconn *c, uint32_t events);             /* (loop) epoll readiness */
void stream_ws_send_text(struct sconn *c, const char *s, size_t n); /* (loop) */
void stream_ws_heartbeat(struct sconn *c, int64_t now_ms);          /* (loop) */
/* Closes with a close frame (code != 0, best effort) or abruptly, unlinks and frees. (loop) */
void stream_ws_close(struct sconn *c, uint16_t code);

/* stream_sse.c */
void stream_sse_open(struct stream_hub *hub, struct http_req *req, struct http_res *res,
                     enum stream_kind kind, bool authed, uint64_t account, unsigned grants);
/* Appends to c's buffer, or cuts c off (and detaches it) when the bound would be passed;
 * count: an event (metrics), not a heartbeat. (loop) */
void stream_sse_send(struct sconn *c, const char *s, size_t n, bool count);
void stream_sse_end(struct sconn *c); /* (loop) shutdown */
/* Unlinks a live c and drops the loop's reference. (loop) */
void stream_sse_detach(struct sconn *c);
void stream_sse_unref(struct sconn *c); /* frees at zero */

#endif
