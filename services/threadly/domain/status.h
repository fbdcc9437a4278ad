/* status.h - a status (post or reply): what was typed, its rendered HTML, who may see it,
 * what it replies to and mentions, and its counters. Pure data and rules. */
#ifndef SERVICES_THREADLY_DOMAIN_STATUS_H
#define SERVICES_THREADLY_DOMAIN_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct account;

enum visibility {
    VISIBILITY_PUBLIC = 0,   /* everyone, in public timelines */
    VISIBILITY_UNLISTED = 1, /* everyone, but not in public timelines */
    VISIBILITY_PRIVATE = 2,  /* followers and mentioned accounts */
    VISIBILITY_DIRECT = 3,   /* mentioned accounts only */
};

struct status {
    uint64_t id;
    uint64_t account_id;
    const char *text;         /* as typed */
    const char *content;      /* rendered HTML */
    const char *spoiler_text; /* may be "" */
    enum visibility visibility;
    bool sensitive;
    const char *language;    /* ISO 639-1, or "" */
    uint64_t in_reply_to_id; /* 0: not a reply */
    uint64_t in_reply_to_account_id;
    uint64_t application_id; /* 0: unknown */
    int64_t created_at_ms;
    int64_t replies_count;
    int64_t favourites_count;
    int64_t reblogs_count;
    size_t nmentions;
    const uint64_t *mentions; /* account ids mentioned, in order of appearance */
    size_t ntags;
    const char *const *tags; /* hashtags, lower-cased, without '#' */
    /* Read only: the author's account as the same read found it, when the store adapter reads
     * it together (pgsql: in the same query, status_store.h); NULL otherwise. Ignored by
     * insert. */
    const struct account *author;
};

#endif
