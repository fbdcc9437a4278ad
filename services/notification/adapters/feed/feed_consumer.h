/* feed_consumer.h - inbound adapter: a thread that long-polls threadly-service's outbox feed
 * (GET /internal/v1/events?after=&limit=&wait=, docs/events.md) with libcurl and hands each
 * batch to consume_batch (app/consume.h), the entry point any other transport uses too.
 * Transient failures (feed or database down) are retried with capped exponential backoff;
 * /ready reports the feed down while it is unreachable. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_FEED_FEED_CONSUMER_H
#define SERVICES_NOTIFICATION_ADAPTERS_FEED_FEED_CONSUMER_H

#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "services/notification/app/core.h"

struct feed_consumer_config {
    const char *url;    /* http://127.0.0.1:8080/internal/v1/events */
    const char *secret; /* sent as X-Threadly-Internal-Secret; NULL: none */
    int limit;          /* events per request, 1..1000 */
    int wait_s;         /* long-poll wait, 0..30 */
    int backoff_min_ms; /* first retry delay */
    int backoff_max_ms; /* cap of the doubling delay */
};

#define FEED_SOURCE "feed"

struct feed_consumer;

/* Starts the thread (call curl_global_init first, once per process). core, log and metrics
 * must outlive the consumer. Registers its metrics on m. */
struct feed_consumer *feed_consumer_start(struct notif_core *core,
                                          const struct feed_consumer_config *cfg,
                                          struct logger *log, struct metrics *m);
/* Stops the thread (an ongoing long poll is aborted within about a second) and frees. NULL is
 * a no-op. */
void feed_consumer_stop(struct feed_consumer *fc);
/* The /ready check: ERR_UNAVAILABLE until the feed has answered, and while it does not. */
int feed_consumer_ready(void *ctx, struct err *err);

#endif
