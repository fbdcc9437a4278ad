/* feed_consumer.c - the outbox feed long-poll loop on libcurl and jansson. The response is
 * checked strictly (a malformed page is the feed's fault: retried, never half applied); each
 * event inside it goes to the use case as text, where anything wrong with it is
 * dead-lettered. */
#include "services/notification/adapters/feed/feed_consumer.h"

#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/health.h"
#include "lib/base/id.h"
#include "lib/base/stopper.h"
#include "lib/base/xalloc.h"
#include "services/notification/app/consume.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FEED_MAX_BODY (64u << 20)

struct feed_consumer {
    struct notif_core *core;
    struct feed_consumer_config cfg;
    char *url, *secret;
    struct logger *log;
    pthread_t thread;
    struct stopper stop;
    struct health health; /* up: the last request to the feed succeeded */
    int64_t cursor;       /* only the thread touches it */
    struct metric_series *consumed, *dead, *created, *lag, *feed_up, *errors;
};

static size_t feed_consumer_write(char *data, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    if (b->len + size * n > FEED_MAX_BODY)
        return 0; /* makes curl fail the transfer */
    buf_append(b, data, size * n);
    return size * n;
}

static int feed_consumer_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    struct feed_consumer *fc = arg;
    return stopper_stopped(&fc->stop) ? 1 : 0;
}

/* GETs the page after the cursor into body. 0, or an error in why. */
static int feed_consumer_fetch(struct feed_consumer *fc, CURL *h, struct buf *body, char *why,
                               size_t whylen)
{
    char url[4200];
    snprintf(url, sizeof(url), "%s%safter=%" PRId64 "&limit=%d&wait=%d", fc->url,
             strchr(fc->url, '?') ? "&" : "?", fc->cursor, fc->cfg.limit, fc->cfg.wait_s);
    struct curl_slist *headers = NULL;
    char secret[600];
    if (fc->secret) {
        snprintf(secret, sizeof(secret), "X-Threadly-Internal-Secret: %s", fc->secret);
        headers = curl_slist_append(headers, secret);
    }
    buf_reset(body);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, feed_consumer_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, feed_consumer_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, fc);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(fc->cfg.wait_s + 15) * 1000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (cc != CURLE_OK)
        return snprintf(why, whylen, "%s", curl_easy_strerror(cc)), -1;
    if (status != 200)
        return snprintf(why, whylen, "HTTP status %ld", status), -1;
    return 0;
}

/* A seq field: a string of digits (or, leniently, a non-negative integer). */
static bool seq_value(json_t *v, int64_t *out)
{
    uint64_t u;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_string(v) &&
        (strcmp(json_string_value(v), "0") == 0 || id_parse(json_string_value(v), &u))) {
        *out = strcmp(json_string_value(v), "0") == 0 ? 0 : (int64_t)u;
        return true;
    }
    return false;
}

/* Parses a page into msgs (texts malloc'd, freed by the caller) and the seqs. */
static int feed_consumer_parse(struct feed_consumer *fc, const struct buf *body,
                               struct inbound_message **msgs, size_t *n, int64_t *last,
                               int64_t *head, char *why, size_t whylen)
{
    json_error_t jerr;
    *msgs = NULL;
    *n = 0;
    json_t *j = json_loadb(body->data ? body->data : "", body->len, 0, &jerr);
    json_t *events = json_object_get(j, "events");
    int rc = -1;
    if (!json_is_object(j) || !json_is_array(events)) {
        snprintf(why, whylen, "feed answered no {\"events\":[...]} object");
    } else if (!seq_value(json_object_get(j, "last_seq"), last) ||
               !seq_value(json_object_get(j, "head_seq"), head)) {
        snprintf(why, whylen, "feed answered no valid last_seq and head_seq");
    } else if (*last < fc->cursor) {
        snprintf(why, whylen, "feed went backwards: last_seq %" PRId64 " < cursor %" PRId64, *last,
                 fc->cursor);
    } else {
        rc = 0;
        *msgs = xcalloc(json_array_size(events) + 1, sizeof(**msgs));
        int64_t prev = fc->cursor;
        for (size_t i = 0; i < json_array_size(events) && rc == 0; i++) {
            json_t *row = json_array_get(events, i);
            json_t *ev = json_object_get(row, "event");
            int64_t seq;
            if (!seq_value(json_object_get(row, "seq"), &seq) || seq <= prev || seq > *last ||
                !ev) {
                snprintf(why, whylen, "feed row %zu has no event or a seq out of order", i);
                rc = -1;
                break;
            }
            prev = seq;
            /* An envelope delivered as a JSON string is taken as its text. */
            char *text = json_is_string(ev)
                             ? xstrndup(json_string_value(ev), json_string_length(ev))
                             : json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
            size_t len = json_is_string(ev) ? json_string_length(ev) : strlen(text);
            (*msgs)[(*n)++] = (struct inbound_message){seq, text, len};
        }
    }
    json_decref(j);
    return rc;
}

static void feed_consumer_free_msgs(struct inbound_message *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)msgs[i].text);
    free(msgs);
}

/* Applies a page, retrying while the store is unavailable. False when stopping. */
static bool feed_consumer_apply(struct feed_consumer *fc, struct inbound_message *msgs, size_t n,
                                int64_t last, int64_t head)
{
    int delay = fc->cfg.backoff_min_ms;
    for (;;) {
        struct consume_stats st = {0};
        struct err err = {0};
        int rc = consume_batch(fc->core, FEED_SOURCE, msgs, n, last, &st, &err);
        if (rc == 0) {
            fc->cursor = last;
            metrics_add(fc->consumed, (double)st.events);
            metrics_add(fc->dead, (double)st.dead);
            metrics_add(fc->created, (double)st.created);
            metrics_set(fc->lag, (double)(head > last ? head - last : 0));
            return true;
        }
        log_printf(fc->log, LOG_WARN, NULL, "cannot apply %zu events (retry in %d ms): %s", n,
                   delay, err.msg);
        if (!stopper_sleep(&fc->stop, delay))
            return false;
        delay = delay * 2 > fc->cfg.backoff_max_ms ? fc->cfg.backoff_max_ms : delay * 2;
    }
}

static void *feed_consumer_main(void *arg)
{
    struct feed_consumer *fc = arg;
    CURL *h = curl_easy_init();
    struct buf body = BUF_INIT;
    int delay = fc->cfg.backoff_min_ms;
    char why[256];
    /* Where we left off: stored with the notifications of the last batch. */
    for (;;) {
        struct err err = {0};
        if (consume_cursor(fc->core, FEED_SOURCE, &fc->cursor, &err) == 0)
            break;
        log_printf(fc->log, LOG_WARN, NULL, "cannot read the feed cursor: %s", err.msg);
        if (!stopper_sleep(&fc->stop, delay))
            goto out;
        delay = delay * 2 > fc->cfg.backoff_max_ms ? fc->cfg.backoff_max_ms : delay * 2;
    }
    log_printf(fc->log, LOG_INFO, NULL, "consuming %s after seq %" PRId64, fc->url, fc->cursor);
    delay = fc->cfg.backoff_min_ms;
    while (!stopper_stopped(&fc->stop)) {
        struct inbound_message *msgs = NULL;
        size_t n = 0;
        int64_t last = 0, head = 0;
        int rc = feed_consumer_fetch(fc, h, &body, why, sizeof(why));
        if (rc == 0)
            rc = feed_consumer_parse(fc, &body, &msgs, &n, &last, &head, why, sizeof(why));
        if (stopper_stopped(&fc->stop)) {
            feed_consumer_free_msgs(msgs, n);
            break;
        }
        if (rc != 0) {
            feed_consumer_free_msgs(msgs, n);
            health_down(&fc->health, why);
            if (!stopper_sleep(&fc->stop, delay))
                break;
            delay = delay * 2 > fc->cfg.backoff_max_ms ? fc->cfg.backoff_max_ms : delay * 2;
            continue;
        }
        if (health_up(&fc->health))
            log_printf(fc->log, LOG_INFO, NULL, "event feed reachable (head seq %" PRId64 ")",
                       head);
        metrics_set(fc->lag, (double)(head > fc->cursor ? head - fc->cursor : 0));
        delay = fc->cfg.backoff_min_ms;
        bool go_on =
            n == 0 && last == fc->cursor ? true : feed_consumer_apply(fc, msgs, n, last, head);
        feed_consumer_free_msgs(msgs, n);
        if (!go_on)
            break;
    }
out:
    buf_release(&body);
    curl_easy_cleanup(h);
    return NULL;
}

struct feed_consumer *feed_consumer_start(struct notif_core *core,
                                          const struct feed_consumer_config *cfg,
                                          struct logger *log, struct metrics *m)
{
    struct feed_consumer *fc = xcalloc(1, sizeof(*fc));
    fc->core = core;
    fc->cfg = *cfg;
    fc->url = xstrdup(cfg->url);
    fc->secret = cfg->secret && *cfg->secret ? xstrdup(cfg->secret) : NULL;
    fc->log = log;
    stopper_init(&fc->stop);
    fc->consumed = metrics_series(
        metrics_counter(m, "notification_events_consumed_total",
                        "Events applied from the feed (duplicates included).", 0, NULL),
        NULL);
    fc->dead =
        metrics_series(metrics_counter(m, "notification_events_dead_lettered_total",
                                       "Messages from the feed that were dead-lettered.", 0, NULL),
                       NULL);
    fc->created = metrics_series(metrics_counter(m, "notification_notifications_created_total",
                                                 "Notifications made from events.", 0, NULL),
                                 NULL);
    fc->lag = metrics_series(metrics_gauge(m, "notification_consumer_lag_events",
                                           "Feed head_seq minus the stored cursor.", 0, NULL),
                             NULL);
    fc->feed_up = metrics_series(
        metrics_gauge(m, "notification_event_feed_up", "1 while the event feed answers.", 0, NULL),
        NULL);
    fc->errors = metrics_series(metrics_counter(m, "notification_event_feed_errors_total",
                                                "Failed requests to the event feed.", 0, NULL),
                                NULL);
    health_init(&fc->health, "event feed unavailable", log, fc->feed_up, fc->errors,
                "not polled yet");
    ASSERT(pthread_create(&fc->thread, NULL, feed_consumer_main, fc) == 0);
    return fc;
}

void feed_consumer_stop(struct feed_consumer *fc)
{
    if (!fc)
        return;
    stopper_stop(&fc->stop);
    pthread_join(fc->thread, NULL);
    stopper_release(&fc->stop);
    health_release(&fc->health);
    free(fc->url);
    free(fc->secret);
    free(fc);
}

int feed_consumer_ready(void *ctx, struct err *err)
{
    struct feed_consumer *fc = ctx;
    struct err why = {0};
    if (health_ready(&fc->health, &why) == 0)
        return 0;
    return err_set(err, ERR_UNAVAILABLE, "event feed: %s", why.msg);
}
