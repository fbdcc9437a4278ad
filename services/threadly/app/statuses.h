/* statuses.h - use cases of statuses: post (with mentions, tags, replies and visibility),
 * read one or a thread, delete, timelines, favourites, follows. Visibility is enforced here,
 * in one place: nobody reads a private or direct status they may not see.
 * Results are allocated in the caller's arena. */
#ifndef SERVICES_THREADLY_APP_STATUSES_H
#define SERVICES_THREADLY_APP_STATUSES_H

#include "lib/base/arena.h"
#include "services/threadly/app/core.h"
#include "services/threadly/domain/validation.h"

struct post_request {
    const char *text;
    const char *visibility; /* NULL: public */
    uint64_t in_reply_to_id;
    const char *spoiler_text;
    bool sensitive;
    const char *language;
    const char *idempotency_key; /* NULL: none */
};

/* ERR_INVALID with v filled (422), ERR_NOT_FOUND when replying to a status the author cannot
 * see, or a store error. */
int statuses_post(struct core *c, uint64_t author, const struct post_request *r, struct arena *a,
                  struct status **out, struct validation *v, struct err *err);
/* The status if viewer (0: anonymous) may see it, else ERR_NOT_FOUND. */
int statuses_get(struct core *c, uint64_t viewer, uint64_t id, struct arena *a, struct status **out,
                 struct err *err);
/* Deletes the author's own status and returns it. ERR_NOT_FOUND if absent or invisible,
 * ERR_FORBIDDEN if it is someone else's. */
int statuses_delete(struct core *c, uint64_t author, uint64_t id, struct arena *a,
                    struct status **out, struct err *err);
/* Ancestors (oldest first) and descendants (depth first, oldest first) viewer may see. */
int statuses_context(struct core *c, uint64_t viewer, uint64_t id, struct arena *a,
                     struct status_list *ancestors, struct status_list *descendants,
                     struct err *err);
/* A timeline page with limit clamped to 1..40 (default 20). */
int statuses_timeline(struct core *c, struct timeline_query *q, struct arena *a,
                      struct status_list *out, struct err *err);
/* True if viewer may see s (the rule used everywhere). */
int statuses_visible(struct core *c, uint64_t viewer, const struct status *s, bool *visible,
                     struct err *err);

/* Favourites; both idempotent. Return the status as it is afterwards. */
int statuses_favourite(struct core *c, uint64_t account, uint64_t id, bool on, struct arena *a,
                       struct status **out, struct err *err);

/* Follow (a locked target gets a request instead) and unfollow; idempotent. Following
 * yourself is ERR_FORBIDDEN, an unknown target ERR_NOT_FOUND. */
int social_follow(struct core *c, uint64_t follower, uint64_t target, bool on,
                  struct relationship *out, struct err *err);
/* Accepts or rejects a pending request from `requester` to `account`. */
int social_answer_request(struct core *c, uint64_t account, uint64_t requester, bool accept,
                          struct relationship *out, struct err *err);

#endif
