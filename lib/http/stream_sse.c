/* stream_sse.c - the Server-Sent Events transport of the streaming hub: a 200 response of
 * unknown length (chunked) whose body libmicrohttpd pulls from a bounded per-connection buffer.
 * The hub's loop appends to the buffer; when it is empty the reader suspends the connection,
 * and the loop resumes it when it appends. Why not a hijacked socket: docs/adr/004-streaming.md. */
#include "lib/base/xalloc.h"
#include "lib/http/stream_internal.h"

#include <string.h>
#include <sys/socket.h>

/* Runs on libmicrohttpd's thread when the socket can take more. */
static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct sconn *c = cls;
    ssize_t r;
    (void)pos;
    pthread_mutex_lock(&c->lock);
    size_t avail = c->out.len - c->out_off;
    if (c->failed) {
        r = MHD_CONTENT_READER_END_WITH_ERROR;
    } else if (avail) {
        size_t n = avail < max ? avail : max;
        memcpy(out, c->out.data + c->out_off, n);
        c->out_off += n;
        if (c->out_off == c->out.len) {
            c->out_off = 0;
            if (c->out.cap > 65536)
                buf_release(&c->out); /* after a burst, give the memory back */
            else
                buf_reset(&c->out);
        }
        r = (ssize_t)n;
    } else if (c->ending) {
        r = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        /* Suspending from the content reader is allowed (microhttpd.h); the flag is set under
         * the lock so the loop sees it only once the suspension is done. */
        c->suspended = true;
        MHD_suspend_connection(c->mhd);
        r = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

/* libmicrohttpd is done with the response (sent, failed or the client left). */
static void sse_free(void *cls)
{
    struct sconn *c = cls;
    pthread_mutex_lock(&c->lock);
    c->mhd_done = true;
    pthread_mutex_unlock(&c->lock);
    stream_sse_gone(c->hub, c);
}

void stream_sse_unref(struct sconn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&c->lock);
    buf_release(&c->out);
    free(c);
}

void stream_sse_detach(struct sconn *c)
{
    if (!c->live)
        return;
    stream_conn_unlink(c->hub, c);
    stream_sse_unref(c);
}

void stream_sse_open(struct stream_hub *hub, struct http_req *req, struct http_res *res,
                     enum stream_kind kind, bool authed, uint64_t account, unsigned grants)
{
    struct sconn *c = xcalloc(1, sizeof(*c));
    c->type = SC_SSE;
    c->hub = hub;
    c->authed = authed;
    c->account = account;
    c->grants = grants;
    c->subs = SK_BIT(kind);
    c->mhd = req->conn;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    c->fd = ci ? ci->connect_fd : -1;
    pthread_mutex_init(&c->lock, NULL);
    buf_init(&c->out);
    /* A first comment line, as Mastodon sends, so the client sees the stream open at once. */
    buf_append_str(&c->out, ":)\n");
    atomic_init(&c->refs, 2);
    /* Handed to the loop before the response exists, so the end (sse_free) always comes
     * after the start in the loop's queue. */
    if (!stream_hub_enqueue_conn(hub, c)) {
        stream_hub_release(hub, authed, account);
        pthread_mutex_destroy(&c->lock);
        buf_release(&c->out);
        free(c);
        http_res_error(res, 503, "Server is shutting down");
        return;
    }
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, c, sse_free);
    ASSERT(r);
    /* Heartbeats keep the stream busy; a quiet client must not be timed out. */
    MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0);
    http_res_header(res, "Cache-Control", "no-store");
    http_res_header(res, "X-Accel-Buffering", "no");
    http_res_mhd(res, 200, "text/event-stream", r);
}

void stream_sse_send(struct sconn *c, const char *s, size_t n, bool count)
{
    struct stream_hub *hub = c->hub;
    bool resume = false, cut = false, sent = false;
    pthread_mutex_lock(&c->lock);
    if (!c->mhd_done && !c->ending && !c->failed) {
        size_t pending = c->out.len - c->out_off;
        if (pending + n > hub->cfg.send_buffer) {
            /* libmicrohttpd asks the reader for more only when the socket takes more, which
             * a client that never reads never lets happen: shut the socket down so that
             * libmicrohttpd's thread sees the error and closes the connection. The fd is still
             * libmicrohttpd's and open: it closes it only after sse_free, which waits for this
             * lock. */
            c->failed = cut = true;
            if (c->fd >= 0)
                shutdown(c->fd, SHUT_RDWR);
        } else {
            if (c->out_off) {
                memmove(c->out.data, c->out.data + c->out_off, pending);
                c->out.len = pending;
                c->out_off = 0;
            }
            buf_append(&c->out, s, n);
            sent = true;
        }
        resume = c->suspended;
        c->suspended = false;
    }
    pthread_mutex_unlock(&c->lock);
    /* Not under c->lock: libmicrohttpd takes its own locks here. The connection cannot go
     * away meanwhile: it is suspended and only this thread resumes it. */
    if (resume)
        MHD_resume_connection(c->mhd);
    if (cut) {
        metrics_add(hub->slow[SC_SSE], 1);
        struct log_line l;
        log_begin(hub->cfg.log, &l, LOG_WARN, NULL, "streaming client too slow; disconnected");
        log_str(&l, "transport", "eventsource");
        log_int(&l, "account", (int64_t)c->account);
        log_end(hub->cfg.log, &l);
        stream_sse_detach(c);
    } else if (count && sent) {
        metrics_add(hub->sent[SC_SSE], 1);
    }
}

void stream_sse_end(struct sconn *c)
{
    pthread_mutex_lock(&c->lock);
    bool resume = c->suspended;
    c->suspended = false;
    c->ending = true;
    pthread_mutex_unlock(&c->lock);
    if (resume)
        MHD_resume_connection(c->mhd);
}
