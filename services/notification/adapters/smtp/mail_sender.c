/* mail_sender.c - the mail sender thread. */
#include "services/notification/adapters/smtp/mail_sender.h"

#include "lib/base/clock.h"
#include "lib/base/stopper.h"
#include "lib/base/xalloc.h"

#include <pthread.h>

#define MAIL_SENDER_BATCH 100
#define MAIL_SENDER_MAX_WAIT_MS 1000

struct mail_sender {
    struct mail_outbox *o;
    struct logger *log;
    pthread_t thread;
    struct stopper stop; /* kicked when a mail is queued */
};

static void wake(void *ctx)
{
    struct mail_sender *s = ctx;
    stopper_kick(&s->stop);
}

static void *run(void *arg)
{
    struct mail_sender *s = arg;
    int64_t last_error_log = 0;
    for (;;) {
        struct err err = {0};
        int sent = 0;
        int rc = mail_outbox_send_due(s->o, MAIL_SENDER_BATCH, &sent, &err);
        int64_t now = clock_now_ms(s->o->clock);
        if (rc && now - last_error_log > 10000) {
            log_printf(s->log, LOG_WARN, NULL, "mail sender: %s", err.msg);
            last_error_log = now;
        }
        int64_t wait_ms = sent == MAIL_SENDER_BATCH
                              ? 0
                              : mail_outbox_next_wake_ms(s->o, MAIL_SENDER_MAX_WAIT_MS) - now;
        if (!stopper_wait(&s->stop, wait_ms))
            return NULL;
    }
}

/* ---- metrics (computed at scrape time) ---- */

static double metric(struct mail_outbox *o, int which)
{
    struct mail_outbox_metrics m;
    struct err err = {0};
    if (mail_outbox_metrics(o, &m, &err))
        return -1;
    switch (which) {
    case 0:
        return (double)m.sent;
    case 1:
        return (double)m.retried;
    case 2:
        return (double)m.failed;
    case 3:
        return (double)m.queue_depth;
    case 4:
        return (double)m.oldest_age_ms / 1000.0;
    case 6:
        return (double)m.dlq_deferred;
    default:
        return (double)m.dead;
    }
}

static double m_sent(void *ctx)
{
    return metric(ctx, 0);
}
static double m_retried(void *ctx)
{
    return metric(ctx, 1);
}
static double m_failed(void *ctx)
{
    return metric(ctx, 2);
}
static double m_depth(void *ctx)
{
    return metric(ctx, 3);
}
static double m_age(void *ctx)
{
    return metric(ctx, 4);
}
static double m_dead(void *ctx)
{
    return metric(ctx, 5);
}
static double m_deferred(void *ctx)
{
    return metric(ctx, 6);
}

struct mail_sender *mail_sender_start(struct mail_outbox *o, struct logger *log,
                                      struct metrics *metrics)
{
    struct mail_sender *s = xcalloc(1, sizeof(*s));
    s->o = o;
    s->log = log;
    stopper_init(&s->stop);
    o->queued = wake;
    o->queued_ctx = s;
    if (metrics) {
        metrics_func(metrics, METRIC_COUNTER, "threadly_mail_sent_total",
                     "Mails the SMTP server accepted since start.", m_sent, o);
        metrics_func(metrics, METRIC_COUNTER, "threadly_mail_retried_total",
                     "Mail attempts that failed transiently and will be retried.", m_retried, o);
        metrics_func(metrics, METRIC_COUNTER, "threadly_mail_failed_total",
                     "Mails given up since start (dead-lettered).", m_failed, o);
        metrics_func(metrics, METRIC_GAUGE, "threadly_mail_queue_depth",
                     "Mails waiting to be sent.", m_depth, o);
        metrics_func(metrics, METRIC_GAUGE, "threadly_mail_oldest_age_seconds",
                     "Age of the oldest mail waiting to be sent.", m_age, o);
        metrics_func(metrics, METRIC_GAUGE, "threadly_mail_dead_letters",
                     "Dead-lettered mails in the store.", m_dead, o);
        metrics_func(metrics, METRIC_COUNTER, "threadly_mail_dead_letters_deferred_total",
                     "Mails given up that stayed queued because their dead letter could not be "
                     "handed on (Kafka: mail-events.dlq unreachable).",
                     m_deferred, o);
    }
    if (pthread_create(&s->thread, NULL, run, s) != 0)
        ASSERT(!"pthread_create failed");
    return s;
}

void mail_sender_stop(struct mail_sender *s)
{
    if (!s)
        return;
    stopper_stop(&s->stop);
    pthread_join(s->thread, NULL);
    s->o->queued = NULL;
    stopper_release(&s->stop);
    free(s);
}
