/* events_feed_http.h - GET /internal/v1/events: the outbox read over HTTP as a long poll
 * (docs/events.md, "The embedded transport"). Waiting requests hold no thread: their
 * connections are suspended and one feed thread answers them when a commit wrote events (an
 * in-process wake-up), when their wait is over, or when a check it makes every second finds
 * rows another process sharing the database committed. */
#ifndef SERVICES_THREADLY_ADAPTERS_HTTP_EVENTS_FEED_HTTP_H
#define SERVICES_THREADLY_ADAPTERS_HTTP_EVENTS_FEED_HTTP_H

#include "lib/base/log.h"
#include "lib/http/http.h"
#include "services/threadly/ports/outbox_store.h"

#include <pthread.h>

struct events_feed_waiter;

struct events_feed {
    struct outbox_store *store;
    struct logger *log;
    const char *secret; /* NULL or "": loopback peers only */
    pthread_t thread;
    bool started;
    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;
    bool kicked;   /* something to look at: a commit, a new waiter, shutdown */
    bool stopping; /* shutdown: answer everyone now, take no new waiters */
    struct events_feed_waiter *waiters;
};

/* Registers the route and starts the feed thread; stopping is hooked to the server's
 * shutdown. store and log must outlive the feed; secret is copied by reference. */
void events_feed_register(struct http_server *s, struct events_feed *f, struct outbox_store *store,
                          struct logger *log, const char *secret);
/* Tells the feed that a commit wrote events (struct core's events_committed). Quick. */
void events_feed_wake(void *feed);
/* Joins the feed thread (after the HTTP server was shut down) and frees what it holds. */
void events_feed_release(struct events_feed *f);

#endif
