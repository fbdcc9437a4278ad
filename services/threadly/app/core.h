/* core.h - what threadly-service's use cases work with: the outbound ports, the clock, ids
 * and randomness, and the limits from configuration. Built by main.c (or by a test with mem
 * adapters and fakes); the use cases only read it. */
#ifndef SERVICES_THREADLY_APP_CORE_H
#define SERVICES_THREADLY_APP_CORE_H

#include "lib/base/clock.h"
#include "lib/base/id.h"
#include "lib/base/random.h"
#include "lib/base/ttlmap.h"
#include "services/threadly/ports/account_store.h"
#include "services/threadly/ports/app_store.h"
#include "services/threadly/ports/email_token_store.h"
#include "services/threadly/ports/entity_cache.h"
#include "services/threadly/ports/event_encoder.h"
#include "services/threadly/ports/home_feed.h"
#include "services/threadly/ports/password_hasher.h"
#include "services/threadly/ports/social_store.h"
#include "services/threadly/ports/status_store.h"
#include "services/threadly/ports/token_signer.h"
#include "services/threadly/ports/token_store.h"

struct core {
    struct account_store accounts;
    struct app_store apps;
    struct token_store tokens;
    struct status_store statuses;
    struct social_store social;
    struct email_token_store email_tokens; /* confirmation and password reset tokens */
    struct home_feed home;        /* cache of home timelines; ops NULL: none (app/home.h) */
    struct entity_cache entities; /* statuses and accounts to render; ops NULL: none */
    struct password_hasher passwords;
    struct token_signer signer;
    const struct clock *clock;
    const struct random *random;
    struct idgen *ids;
    bool registrations_open;
    int64_t token_ttl_ms;            /* 0: tokens do not expire (Mastodon clients cannot refresh) */
    int64_t email_token_ttl_ms;      /* lifetime of confirmation and reset tokens (> 0) */
    bool require_email_confirmation; /* unconfirmed accounts cannot log in */
    char dummy_hash[PASSWORD_HASH_MAX]; /* set by auth_init */
    const char *base_url;               /* for links in rendered statuses */
    const char *domain;                 /* our host, for mentions like @user@domain */
    int max_characters;
    struct ttlmap *idempotency;   /* Idempotency-Key of POST /statuses; may be NULL */
    struct ttlmap *auth_codes;    /* authorization codes: single use, 10 minutes */
    struct event_encoder encoder; /* snapshots in event payloads (app/events.c) */
    /* Called after a change that wrote events committed (wakes the feed's long polls); may be
     * NULL. Must be quick and must not block. */
    void (*events_committed)(void *ctx);
    void *events_committed_ctx;
};

#endif
