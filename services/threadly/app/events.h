/* events.h - the domain events a use case emits (docs/events.md): a draft is filled before the
 * store call that makes the change, handed to that call as its outbox_emit, and turned into
 * events by the store inside the change's transaction, only if the change happened. What the
 * store alone knows (the id of a removed follow or favourite, whether it was a request) comes
 * in through struct outbox_change; snapshots are rendered before, by the core's encoder. */
#ifndef SERVICES_THREADLY_APP_EVENTS_H
#define SERVICES_THREADLY_APP_EVENTS_H

#include "lib/base/arena.h"
#include "services/threadly/app/core.h"

#define EVENTS_PRODUCER "threadly-service"

enum events_change {
    EVENTS_ACCOUNT_CREATED,          /* account.created */
    EVENTS_ACCOUNT_UPDATED,          /* account.updated */
    EVENTS_TOKEN_REVOKED,            /* token.revoked */
    EVENTS_STATUS_CREATED,           /* status.created */
    EVENTS_STATUS_DELETED,           /* status.deleted */
    EVENTS_FAVOURITE_CREATED,        /* favourite.created */
    EVENTS_FAVOURITE_DELETED,        /* favourite.deleted */
    EVENTS_FOLLOW_CREATED,           /* follow.created, or follow_request.created when requested */
    EVENTS_FOLLOW_REMOVED,           /* follow.deleted, or follow_request.deleted (not accepted) */
    EVENTS_FOLLOW_ACCEPTED,          /* follow_request.deleted (accepted), then follow.created */
    EVENTS_PASSWORD_RESET_REQUESTED, /* account.password_reset_requested */
    EVENTS_TOKENS_REVOKED,           /* account.tokens_revoked (account id: the change's row_id) */
};

struct events_draft {
    struct core *c;
    struct arena *a; /* the events' strings; must outlive the store call */
    enum events_change kind;
    struct outbox_emit emit; /* what the store call takes */
    bool built;              /* the store built the events: the change happened */
    int64_t at_ms;           /* occurred_at */
    uint64_t key;            /* the aggregate id */
    /* Ids of the payload; which are used depends on kind. */
    uint64_t account_id, target_id, status_id, status_account_id, row_id, jti;
    bool requested; /* EVENTS_FOLLOW_CREATED: a request to a locked account */
    int visibility; /* EVENTS_STATUS_DELETED */
    const char *email, *locale;
    const char *token; /* the plain confirmation or reset token (account.created, reset) */
    /* Snapshots (JSON text), rendered by events_draft_account / events_draft_status. */
    const char *account, *target, *status;
    size_t nmentions;
    const uint64_t *mentions;
    uint64_t in_reply_to_account_id;
    uint64_t in_reply_to_id; /* status.created, status.deleted: the parent, 0 if none */
};

/* Starts a draft of kind about aggregate key, occurring now. */
void events_draft_init(struct events_draft *d, struct core *c, struct arena *a,
                       enum events_change kind, uint64_t key);
/* The Account snapshot of acct, in the draft's arena. */
const char *events_account_json(struct events_draft *d, const struct account *acct);
/* The Status snapshot of s (author and mentioned accounts as event_encoder_status takes). */
const char *events_status_json(struct events_draft *d, const struct status *s,
                               const struct account *author,
                               const struct account *const *mentioned);
/* To call after the store call with its result: tells the entity cache what the change
 * alters (app/entities.h) and, when the change committed with events, the core's listener
 * (the feed's long polls). */
void events_draft_done(struct events_draft *d, int rc);

#endif
