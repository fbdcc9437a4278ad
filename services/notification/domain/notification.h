/* notification.h - the notification entity of notification-service, its Mastodon types, the
 * list query (filters and paging) and the timeline read marker. Pure data and small helpers. */
#ifndef SERVICES_NOTIFICATION_DOMAIN_NOTIFICATION_H
#define SERVICES_NOTIFICATION_DOMAIN_NOTIFICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Mastodon types this service makes. Bits, so filters are masks. */
enum notification_type {
    NOTIFICATION_MENTION = 1 << 0,
    NOTIFICATION_FAVOURITE = 1 << 1,
    NOTIFICATION_FOLLOW = 1 << 2,
    NOTIFICATION_FOLLOW_REQUEST = 1 << 3,
};
#define NOTIFICATION_TYPES_ALL 0xfu

/* "mention", "favourite", "follow", "follow_request". */
const char *notification_type_name(enum notification_type t);
/* The type named s; false for a name that is not one of ours (Mastodon has more types, which
 * this service never makes). */
bool notification_type_parse(const char *s, enum notification_type *out);
/* Whether the Mastodon entity of type t carries `status`. */
bool notification_type_has_status(enum notification_type t);

#define NOTIFICATION_CAUSE_MAX 64

struct notification {
    uint64_t id; /* from the service's id generator: newer is larger */
    enum notification_type type;
    uint64_t recipient_id;    /* whose notification it is */
    uint64_t account_id;      /* who acted */
    const char *account_json; /* Account entity of the actor (snapshot, or newer profile) */
    uint64_t status_id;       /* 0: none */
    const char *status_json;  /* Status entity, or NULL for follow and follow_request */
    uint64_t event_id;        /* the event that made it */
    const char *cause;        /* removal key, see rules.h */
    int64_t created_at_ms;    /* when the action happened (the event's occurred_at) */
};

struct notification_list {
    size_t n;
    struct notification *items; /* newest first */
};

/* Paging as Mastodon does it. max_id: ids < max_id. since_id: ids > since_id, newest page.
 * min_id: ids > min_id, the page right after min_id (oldest first window), still returned
 * newest first. 0 means "not given". */
struct notification_page {
    uint64_t max_id, since_id, min_id;
    int limit; /* >= 1 */
};

/* A list or count query of one recipient's notifications. */
struct notification_query {
    uint64_t recipient_id;
    unsigned types;      /* mask of enum notification_type wanted; 0 matches nothing */
    uint64_t account_id; /* only from this actor; 0: anyone */
    struct notification_page page;
};

#define NOTIFICATION_LIMIT_DEFAULT 40
#define NOTIFICATION_LIMIT_MAX 80
#define NOTIFICATION_UNREAD_LIMIT_DEFAULT 100
#define NOTIFICATION_UNREAD_LIMIT_MAX 1000

/* The types mask from Mastodon's types[] and exclude_types[]: every type when types is empty,
 * else only the named ones we know (an unknown name adds nothing), minus the excluded ones. */
unsigned notification_types_mask(const char *const *types, size_t ntypes,
                                 const char *const *exclude, size_t nexclude);

/* A read marker (Mastodon's Marker entity) of one account and timeline. */
enum marker_timeline { MARKER_HOME = 1, MARKER_NOTIFICATIONS = 2 };

struct marker {
    enum marker_timeline timeline;
    uint64_t last_read_id;
    int64_t version; /* 1 when created, +1 at each update */
    int64_t updated_at_ms;
};

/* "home", "notifications". */
const char *marker_timeline_name(enum marker_timeline t);
bool marker_timeline_parse(const char *s, enum marker_timeline *out);

#endif
