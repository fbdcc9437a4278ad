/* home.h - the home timeline through the home feed cache (ports/home_feed.h): pages the feed
 * can answer are read by id, the rest from the status store's home query exactly as before;
 * and the writes that keep every held feed coherent (docs/adr/005-home-feed.md). Without a
 * feed in the core (c->home.ops NULL) everything goes to the store. */
#ifndef SERVICES_THREADLY_APP_HOME_H
#define SERVICES_THREADLY_APP_HOME_H

#include "lib/base/arena.h"
#include "services/threadly/app/core.h"

/* The home timeline page q (kind TIMELINE_HOME, limit 1..STATUS_STORE_BATCH_MAX). */
int home_timeline(struct core *c, const struct timeline_query *q, struct arena *a,
                  struct status_list *out, struct err *err);

/* Reports writes committed (by this process right after the commit, or by another one as
 * read from the outbox). Never fail: the cache is only ever behind by what is not reported. */
void home_status_created(struct core *c, const struct home_post *p);
void home_status_deleted(struct core *c, uint64_t status_id);
/* follower's follows changed (follow, unfollow, accepted request). */
void home_follows_changed(struct core *c, uint64_t follower);

#endif
