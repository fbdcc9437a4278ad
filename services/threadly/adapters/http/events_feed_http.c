/* events_feed_http.c - the internal event feed over the outbox: parameters, access control,
 * the JSON page, and the long poll on suspended connections answered by one feed thread. */
#include "services/threadly/adapters/http/events_feed_http.h"

#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/id.h"
#include "lib/base/jsonw.h"
#include "lib/base/parse.h"
#include "lib/base/xalloc.h"
#include "lib/events/event.h"
#include "services/threadly/app/events.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define FEED_LIMIT_DEFAULT 100
#define FEED_LIMIT_MAX 1000
#define FEED_WAIT_MAX_S 30
/* How often waiting requests look for rows committed by another process (no wake-up). */
#define FEED_RECHECK_MS 1000

struct events_feed_waiter {
    struct events_feed_waiter *next;
    struct http_req *req;
    struct http_res *res;
    uint64_t after;
    int limit;
    int64_t deadline_ms; /* monotonic */
};

/* Compares secrets in time that does not depend on where they differ. */
static bool secret_eq(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char diff = na != nb;
    for (size_t i = 0; i < na && i < nb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* With a secret: the header must carry it. Without: a loopback peer, not relayed by a proxy
 * (our gateway adds X-Forwarded-For / X-Real-IP; it also never routes /internal/). */
static bool allowed(struct events_feed *f, struct http_req *req)
{
    if (f->secret && *f->secret) {
        const char *given = http_req_header(req, "X-Threadly-Internal-Secret");
        return given && secret_eq(given, f->secret);
    }
    const char *peer = http_req_remote(req);
    bool loopback = strcmp(peer, "127.0.0.1") == 0 || strcmp(peer, "::1") == 0 ||
                    strcmp(peer, "::ffff:127.0.0.1") == 0;
    return loopback && !http_req_header(req, "X-Forwarded-For") &&
           !http_req_header(req, "X-Real-IP");
}

/* A decimal number in [min, max] (digits only), or the default when absent. */
static bool number_arg(struct http_req *req, const char *name, int64_t min, int64_t max,
                       int64_t def, int64_t *out)
{
    const char *v = http_req_arg(req, name);
    *out = def;
    if (!v)
        return true;
    if (!*v || strlen(v) > 19)
        return false;
    for (const char *p = v; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return parse_int64(v, min, max, out);
}

/* Renders the page of rows after `after` into res (200), or an error. */
static void answer(struct events_feed *f, struct http_req *req, struct http_res *res,
                   uint64_t after, int limit)
{
    struct arena a;
    struct outbox_row *rows;
    struct err err = {0};
    size_t n = 0;
    uint64_t head = 0;
    arena_init(&a, 0);
    int rc = outbox_store_list(f->store, after, limit, &a, &rows, &n, &err);
    if (rc == 0) /* after the list, so head_seq >= last_seq */
        rc = outbox_store_head(f->store, &head, &err);
    if (rc != 0) {
        log_printf(f->log, LOG_WARN, http_req_id(req), "events feed: %s", err.msg);
        if (rc == ERR_UNAVAILABLE)
            http_res_header(res, "Retry-After", "1");
        http_res_error(res, rc == ERR_UNAVAILABLE ? 503 : 500,
                       rc == ERR_UNAVAILABLE ? "Service temporarily unavailable"
                                             : "Internal server error");
        arena_release(&a);
        return;
    }
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_key(&w, "events");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        struct buf e = BUF_INIT;
        rows[i].event.producer = EVENTS_PRODUCER;
        event_format(&rows[i].event, &e);
        jsonw_object_begin(&w);
        jsonw_field_id(&w, "seq", rows[i].seq);
        jsonw_key(&w, "event");
        jsonw_raw(&w, e.data, e.len);
        jsonw_object_end(&w);
        buf_release(&e);
    }
    jsonw_array_end(&w);
    jsonw_field_id(&w, "last_seq", n ? rows[n - 1].seq : after);
    jsonw_field_id(&w, "head_seq", head);
    jsonw_object_end(&w);
    size_t len = b.len;
    char *body = b.data ? b.data : xstrdup("");
    http_res_take(res, 200, "application/json; charset=utf-8", body, len);
    arena_release(&a);
}

static void events_feed_get(struct http_req *req, struct http_res *res, void *ctx)
{
    struct events_feed *f = ctx;
    int64_t after, limit, wait;
    if (!allowed(f, req)) {
        http_res_error(res, 404, "Record not found");
        return;
    }
    if (!number_arg(req, "after", 0, INT64_MAX, 0, &after) ||
        !number_arg(req, "limit", 1, FEED_LIMIT_MAX, FEED_LIMIT_DEFAULT, &limit) ||
        !number_arg(req, "wait", 0, FEED_WAIT_MAX_S, 0, &wait)) {
        http_res_error(res, 400,
                       "after, limit (1..1000) and wait (0..30 seconds) must be numbers in range");
        return;
    }
    uint64_t head = 0;
    struct err err = {0};
    if (wait > 0 && outbox_store_head(f->store, &head, &err) == 0 && head <= (uint64_t)after) {
        pthread_mutex_lock(&f->mu);
        bool stopping = f->stopping;
        if (!stopping) {
            struct events_feed_waiter *w = arena_alloc(http_req_arena(req), sizeof(*w));
            *w = (struct events_feed_waiter){f->waiters, req,
                                             res,        (uint64_t)after,
                                             (int)limit, clock_monotonic_ms() + wait * 1000};
            /* Suspended before the feed thread can see it: it may answer at once. */
            http_req_suspend(req);
            f->waiters = w;
            f->kicked = true;
            pthread_cond_signal(&f->cv);
        }
        pthread_mutex_unlock(&f->mu);
        if (!stopping)
            return;
    }
    answer(f, req, res, (uint64_t)after, (int)limit);
}

/* Waits on f->cv (f->mu held) until kicked or until deadline_ms (monotonic). */
static void wait_until(struct events_feed *f, int64_t deadline_ms)
{
    while (!f->kicked) {
        int64_t left = deadline_ms - clock_monotonic_ms();
        if (left <= 0)
            return;
        struct timespec ts = clock_deadline(CLOCK_MONOTONIC, left);
        if (pthread_cond_timedwait(&f->cv, &f->mu, &ts) == ETIMEDOUT)
            return;
    }
}

/* The feed thread: looks at the head after every kick and every FEED_RECHECK_MS while requests
 * wait, and answers those that have rows, whose wait is over, or all of them at shutdown. */
static void *events_feed_run(void *arg)
{
    struct events_feed *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        int64_t now = clock_monotonic_ms(), next = now + FEED_RECHECK_MS;
        for (struct events_feed_waiter *w = f->waiters; w; w = w->next)
            if (w->deadline_ms < next)
                next = w->deadline_ms;
        if (!f->stopping)
            wait_until(f, f->waiters ? next : now + 60 * 60 * 1000);
        f->kicked = false;
        bool stopping = f->stopping;
        if (!f->waiters && stopping)
            break;
        if (!f->waiters)
            continue;
        pthread_mutex_unlock(&f->mu);
        uint64_t head = 0;
        struct err err = {0};
        bool known = outbox_store_head(f->store, &head, &err) == 0;
        if (!known)
            log_printf(f->log, LOG_WARN, NULL, "events feed: %s", err.msg);
        pthread_mutex_lock(&f->mu);
        /* Take out the waiters to answer; new ones may arrive while we answer. */
        struct events_feed_waiter *ready = NULL, **pp = &f->waiters;
        now = clock_monotonic_ms();
        while (*pp) {
            struct events_feed_waiter *w = *pp;
            if (stopping || (known && head > w->after) || w->deadline_ms <= now) {
                *pp = w->next;
                w->next = ready;
                ready = w;
            } else {
                pp = &w->next;
            }
        }
        pthread_mutex_unlock(&f->mu);
        while (ready) {
            struct events_feed_waiter *w = ready;
            ready = w->next; /* w is in the request's arena: read it before resuming */
            answer(f, w->req, w->res, w->after, w->limit);
            http_req_resume(w->req);
        }
        pthread_mutex_lock(&f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* The server's shutdown hook: answer every waiter now and stop taking new ones; returns once
 * they are all answered, so the server can wait for them to be sent. */
static void events_feed_stop(void *ctx)
{
    struct events_feed *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    f->kicked = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (f->started) {
        pthread_join(f->thread, NULL);
        f->started = false;
    }
}

void events_feed_wake(void *feed)
{
    struct events_feed *f = feed;
    pthread_mutex_lock(&f->mu);
    f->kicked = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void events_feed_register(struct http_server *s, struct events_feed *f, struct outbox_store *store,
                          struct logger *log, const char *secret)
{
    pthread_condattr_t ca;
    memset(f, 0, sizeof(*f));
    f->store = store;
    f->log = log;
    f->secret = secret;
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    ASSERT(pthread_create(&f->thread, NULL, events_feed_run, f) == 0);
    f->started = true;
    http_route(s, HTTP_GET, "/internal/v1/events", events_feed_get, f);
    http_server_on_shutdown(s, events_feed_stop, f);
}

void events_feed_release(struct events_feed *f)
{
    if (!f->store)
        return;
    events_feed_stop(f);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    f->store = NULL;
}
