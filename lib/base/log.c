/* log.c - JSON-lines logger. */
#include "lib/base/log.h"

#include "lib/base/xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_BYTES (16 * 1024)
#define FLUSH_MS 50

struct log_async {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct buf pending;
    size_t max_pending;
    uint64_t dropped;
    bool stop;
    pthread_t thread;
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(struct logger *lg, const char *service, enum log_level level, int fd,
              const struct clock *clock)
{
    lg->service = service;
    lg->level = level;
    lg->fd = fd;
    lg->clock = clock;
    lg->async = NULL;
}

static void write_all(int fd, const char *p, size_t left)
{
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* Nowhere to report a failing log; drop the rest. */
        p += n;
        left -= (size_t)n;
    }
}

static void *writer(void *arg)
{
    struct logger *lg = arg;
    struct log_async *as = lg->async;
    struct buf out = BUF_INIT;
    pthread_mutex_lock(&as->mu);
    for (;;) {
        while (!as->stop && as->pending.len < FLUSH_BYTES) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += FLUSH_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            if (pthread_cond_timedwait(&as->cv, &as->mu, &ts) == ETIMEDOUT && as->pending.len)
                break;
        }
        struct buf tmp = as->pending; /* swap: request threads go on filling a fresh buffer */
        as->pending = out;
        out = tmp;
        bool stop = as->stop;
        pthread_mutex_unlock(&as->mu);
        write_all(lg->fd, out.data, out.len);
        buf_reset(&out);
        pthread_mutex_lock(&as->mu);
        if (stop && as->pending.len == 0)
            break;
    }
    pthread_mutex_unlock(&as->mu);
    buf_release(&out);
    return NULL;
}

void log_start_async(struct logger *lg, size_t max_pending)
{
    ASSERT(!lg->async);
    struct log_async *as = xcalloc(1, sizeof(*as));
    pthread_mutex_init(&as->mu, NULL);
    pthread_cond_init(&as->cv, NULL);
    as->max_pending = max_pending;
    lg->async = as;
    ASSERT(pthread_create(&as->thread, NULL, writer, lg) == 0);
}

void log_stop_async(struct logger *lg)
{
    struct log_async *as = lg->async;
    if (!as)
        return;
    pthread_mutex_lock(&as->mu);
    as->stop = true;
    pthread_cond_signal(&as->cv);
    pthread_mutex_unlock(&as->mu);
    pthread_join(as->thread, NULL);
    lg->async = NULL;
    buf_release(&as->pending);
    pthread_cond_destroy(&as->cv);
    pthread_mutex_destroy(&as->mu);
    free(as);
}

uint64_t log_dropped(const struct logger *lg)
{
    struct log_async *as = lg->async;
    if (!as)
        return 0;
    pthread_mutex_lock(&as->mu);
    uint64_t n = as->dropped;
    pthread_mutex_unlock(&as->mu);
    return n;
}

bool log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

static void key(struct log_line *l, const char *k)
{
    buf_append_char(&l->b, ',');
    buf_append_json_str(&l->b, k, strlen(k));
    buf_append_char(&l->b, ':');
}

void log_begin(const struct logger *lg, struct log_line *l, enum log_level level,
               const char *req_id, const char *msg)
{
    char ts[CLOCK_ISO_LEN];
    clock_format_iso(clock_now_ms(lg->clock), ts);
    buf_init(&l->b);
    buf_grow(&l->b, 256);
    buf_appendf(&l->b, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level_names[level]);
    log_str(l, "service", lg->service);
    if (req_id)
        log_str(l, "req_id", req_id);
    log_str(l, "msg", msg);
}

void log_str(struct log_line *l, const char *k, const char *value)
{
    key(l, k);
    if (value)
        buf_append_json_str(&l->b, value, strlen(value));
    else
        buf_append_str(&l->b, "null");
}

void log_int(struct log_line *l, const char *k, int64_t value)
{
    key(l, k);
    buf_appendf(&l->b, "%lld", (long long)value);
}

void log_double(struct log_line *l, const char *k, double value)
{
    key(l, k);
    buf_appendf(&l->b, "%.3f", value);
}

void log_end(const struct logger *lg, struct log_line *l)
{
    struct log_async *as = lg->async;
    buf_append_str(&l->b, "}\n");
    if (!as) {
        write_all(lg->fd, l->b.data, l->b.len);
    } else {
        pthread_mutex_lock(&as->mu);
        if (as->pending.len + l->b.len > as->max_pending) {
            as->dropped++;
        } else {
            buf_append(&as->pending, l->b.data, l->b.len);
            if (as->pending.len >= FLUSH_BYTES)
                pthread_cond_signal(&as->cv);
        }
        pthread_mutex_unlock(&as->mu);
    }
    buf_release(&l->b);
}

void log_printf(const struct logger *lg, enum log_level level, const char *req_id, const char *fmt,
                ...)
{
    if (!log_enabled(lg, level))
        return;
    struct buf msg = BUF_INIT;
    struct log_line l;
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(&msg, fmt, ap);
    va_end(ap);
    log_begin(lg, &l, level, req_id, msg.data ? msg.data : "");
    log_end(lg, &l);
    buf_release(&msg);
}
