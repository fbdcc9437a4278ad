/* live.h - use case: after a batch of events is committed, tell connected streaming clients
 * (the live_stream port) what it made: each new notification to its recipient, a new status
 * (`update`) and a deleted one (`delete`) to the accounts that see it in their home timeline
 * and, for public ones, to the public streams. Never called before the commit, and never for
 * an event that was a duplicate. */
#ifndef SERVICES_NOTIFICATION_APP_LIVE_H
#define SERVICES_NOTIFICATION_APP_LIVE_H

#include "services/notification/app/core.h"

#include <stdbool.h>
#include <stddef.h>

/* One committed batch item with the event it was decoded from (NULL for a dead letter) and
 * whether the store skipped it as processed before. */
struct live_item {
    const struct batch_item *item;
    const struct domain_event *event;
    bool duplicate;
};

/* Publishes what items[0..n) made. Reads the stored notifications (so the payload is what the
 * REST API returns, newest actor profile included) and the follower sets; a notification that
 * a later event of the same batch removed again is not sent. Failures are logged and counted
 * in the return value (events not published); the stored state is never affected. */
size_t live_publish(struct notif_core *c, const struct live_item *items, size_t n, struct arena *a);

/* The user streams a status reaches (docs/events.md): the author and its followers for
 * public, unlisted and private; the author and the mentioned accounts for direct; the author
 * alone when the visibility is unknown (a status.deleted without one). Without repeats, into
 * *out (arena memory); *public_streams is true for public statuses. followers may be NULL. */
size_t live_audience(uint64_t author, enum visibility v, const uint64_t *followers,
                     size_t nfollowers, const uint64_t *mentions, size_t nmentions, struct arena *a,
                     uint64_t **out, bool *public_streams);

#endif
