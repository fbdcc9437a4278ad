/* rules.h - what notification-service makes of a domain event (docs/events.md, "What
 * notification-service makes of them"): the notifications to create and remove, and the
 * changes to its read models (account profiles, follower sets, revoked token ids). Pure: the
 * event arrives decoded, the changes leave as data for a store to apply. */
#ifndef SERVICES_NOTIFICATION_DOMAIN_RULES_H
#define SERVICES_NOTIFICATION_DOMAIN_RULES_H

#include "lib/base/arena.h"
#include "services/notification/domain/notification.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum domain_event_kind {
    DOMAIN_ACCOUNT_CREATED = 1,
    DOMAIN_ACCOUNT_UPDATED,
    DOMAIN_TOKEN_REVOKED,
    DOMAIN_STATUS_CREATED,
    DOMAIN_STATUS_DELETED,
    DOMAIN_FAVOURITE_CREATED,
    DOMAIN_FAVOURITE_DELETED,
    DOMAIN_FOLLOW_CREATED,
    DOMAIN_FOLLOW_DELETED,
    DOMAIN_FOLLOW_REQUEST_CREATED,
    DOMAIN_FOLLOW_REQUEST_DELETED,
};

enum visibility {
    VISIBILITY_PUBLIC = 1,
    VISIBILITY_UNLISTED,
    VISIBILITY_PRIVATE,
    VISIBILITY_DIRECT
};

/* The kind of an event type name ("favourite.created") at version; false for a type or
 * version this service does not know. */
bool domain_event_kind_parse(const char *type, int version, enum domain_event_kind *out);
/* "public", "unlisted", "private", "direct". */
bool visibility_parse(const char *s, enum visibility *out);

/* A decoded event. Which fields are set depends on kind (docs/events.md, "Types"):
 *   account.*:            actor_id, actor_json (the account)
 *   token.revoked:        jti (the token id), actor_id (account, 0 for app tokens)
 *   status.created:       actor_id (author), status_*, visibility, mentions, in_reply_to_account_id
 *   status.deleted:       actor_id (author), status_id, visibility (0 when not given),
 *                         mentions (none when not given)
 *   favourite.created:    actor_id, actor_json (who favourited), status_* (status_account_id:
 *                         its author)
 *   favourite.deleted:    actor_id, status_id, status_account_id
 *   follow*.created:      actor_id, actor_json (follower or requester), target_id, target_json
 *   follow*.deleted:      actor_id, target_id, accepted (follow_request.deleted)
 * JSON texts are compact snapshots of Mastodon entities, valid while the caller's arena is. */
struct domain_event {
    uint64_t id;
    int64_t occurred_at_ms;
    enum domain_event_kind kind;
    uint64_t actor_id;
    const char *actor_json;
    uint64_t target_id;
    const char *target_json;
    uint64_t status_id;
    uint64_t status_account_id;
    const char *status_json;
    enum visibility visibility;
    const uint64_t *mentions;
    size_t nmentions;
    uint64_t in_reply_to_account_id; /* 0: not a reply */
    uint64_t jti;
    bool accepted;
};

/* A notification to create: the store gives it its id and makes it once per (event id,
 * recipient, type). */
struct notification_new {
    enum notification_type type;
    uint64_t recipient_id;
    uint64_t account_id;
    const char *account_json;
    uint64_t status_id;      /* 0: none */
    const char *status_json; /* NULL: none */
    char cause[NOTIFICATION_CAUSE_MAX];
};

/* Everything one event changes. Arrays live in the arena given to rules_apply. */
struct event_changes {
    struct notification_new *creates;
    size_t ncreates;
    /* Remove every notification whose cause is one of these ... */
    const char **remove_causes;
    size_t nremove_causes;
    /* ... and every one about this status (0: none). */
    uint64_t remove_status_id;
    /* Account read model: upsert account_id's Account JSON (0: none). */
    uint64_t account_id;
    const char *account_json;
    /* Follower set: follower_id follows followee_id (follow_add) or no longer does. */
    uint64_t follower_id, followee_id;
    bool follow_add, follow_remove;
    /* A revoked token id (0: none). */
    uint64_t revoked_jti;
};

/* Removal keys (notification.cause): "mention:<status>", "favourite:<account>:<status>",
 * "follow:<follower>:<followee>", "follow_request:<requester>:<target>". */

/* Computes the changes of e into out, allocating from a. Nobody is notified of their own
 * action; a mention reaches only accounts that may see the status: public and unlisted, every
 * mentioned account and the replied-to author; private and direct, mentioned accounts only. */
void rules_apply(const struct domain_event *e, struct arena *a, struct event_changes *out);

#endif
