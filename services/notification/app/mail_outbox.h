/* mail_outbox.h - use cases of email in notification-service (docs/email.md): turning events
 * into queued mails (deduplicated by (event, recipient, kind), filtered by preferences, held and
 * summed up by flood control), sending what is due with retries and exponential backoff,
 * dead-lettering what cannot be sent, preferences and unsubscribe, metrics.
 * Thread-safe: the flood decisions take the outbox's mutex (C11 mtx_t), so the consumer thread
 * (requests) and the sender thread (digests, sends) may run at once. One process per store: two
 * instances sharing a database could each send a digest of the same held mails. */
#ifndef SERVICES_NOTIFICATION_APP_MAIL_OUTBOX_H
#define SERVICES_NOTIFICATION_APP_MAIL_OUTBOX_H

#include "lib/base/clock.h"
#include "lib/base/id.h"
#include "lib/base/random.h"
#include "services/notification/domain/mail.h"
#include "services/notification/ports/mail_store.h"
#include "services/notification/ports/mailer.h"

#include <threads.h>

struct mail_outbox_config {
    const char *from;        /* From header, "Name <addr>" */
    const char *public_url;  /* base of every link, no trailing slash */
    const char *instance;    /* the instance title in mails */
    int64_t flood_window_ms; /* at most one mail per account and kind in this time */
    int max_attempts;        /* then the mail is dead-lettered */
    int64_t backoff_base_ms; /* first retry delay; doubles each attempt */
    int64_t backoff_max_ms;  /* cap of the retry delay */
    int token_ttl_hours;     /* shown in confirmation and reset mails */
};

/* What an event asks to mail. */
struct mail_event {
    uint64_t event_id;
    uint64_t recipient_id;
    enum mail_kind kind; /* not MAIL_DIGEST */
    /* MAIL_CONFIRMATION, MAIL_PASSWORD_RESET: from the event itself. */
    const char *email, *username, *token;
    /* Notification kinds: who did it, and (mention, favourite) to what. */
    const char *actor_name, *actor_acct, *actor_url;
    const char *status_text, *status_url;
};

struct mail_outbox {
    struct mail_store store;
    struct mailer mailer; /* used by the sender only */
    const struct clock *clock;
    const struct random *random;
    struct idgen *ids;
    struct mail_outbox_config cfg;
    mtx_t flood_mu;
    char envelope_from[256]; /* the addr-spec of cfg.from */
    /* Called after a mail was queued (wakes the sender); may be NULL. Quick, non-blocking. */
    void (*queued)(void *ctx);
    void *queued_ctx;
    /* The Kafka profile (docs/email.md, "mail-events"): mail_events_apply hands each request to
     * forward (which publishes it as mail.requested; the mail consumer brings it back to
     * mail_outbox_request) instead of deciding it at once. Called on the event consumer's
     * thread; 0 or an error that fails the event batch. NULL: decided at once. */
    int (*forward)(void *ctx, const struct mail_event *e, struct err *err);
    void *forward_ctx;
    /* Called by the sender before it marks a mail dead (refused, or too many attempts), with
     * the reason. The mail is marked dead only once this returned 0 (Kafka: published to
     * mail-events.dlq); on an error it stays queued and is tried again after the backoff, so a
     * dead letter is never marked without being handed on. NULL: marked dead at once. */
    int (*dead_letter)(void *ctx, const struct mail_job *job, const char *why, struct err *err);
    void *dead_letter_ctx;
    /* Counters since start (read with __atomic loads). dlq_deferred: dead letters kept queued
     * because dead_letter failed. */
    int64_t sent, retried, failed, dlq_deferred;
};

/* Checks cfg (a From with an address, a public URL) and prepares o, whose store, mailer, clock,
 * random and ids the caller has set. ERR_INVALID with err set. */
int mail_outbox_init(struct mail_outbox *o, struct err *err);
void mail_outbox_release(struct mail_outbox *o);

/* Who an account's mails go to (account.created, account.updated). The first time, the account
 * gets default preferences and an unsubscribe token. */
int mail_outbox_recipient(struct mail_outbox *o, const struct mail_recipient *r, struct err *err);

enum mail_outcome {
    MAIL_OUTCOME_QUEUED,    /* a mail (or a digest including this event) is queued */
    MAIL_OUTCOME_HELD,      /* flood control: it will be summed up in the next mail */
    MAIL_OUTCOME_SKIPPED,   /* preferences off, or no address known for the account */
    MAIL_OUTCOME_DUPLICATE, /* this (event, recipient, kind) was decided before */
};

/* Decides and records the mail of e. 0 with *out set; ERR_INVALID for a mail that cannot be
 * made (a bad address: it is recorded as skipped); a store's error otherwise. */
int mail_outbox_request(struct mail_outbox *o, const struct mail_event *e, enum mail_outcome *out,
                        struct err *err);

/* One pass of the sender: queues the digests whose window ended, then sends up to limit due
 * mails. *sent (may be NULL) gets how many the server accepted. Stops early after three
 * transient failures in a row (the server is probably down). A store error ends the pass. */
int mail_outbox_send_due(struct mail_outbox *o, int limit, int *sent, struct err *err);

/* When the sender should run again: the soonest next_attempt_at of a queued mail or end of a
 * flood window with held mails, at most max_wait_ms from now. */
int64_t mail_outbox_next_wake_ms(struct mail_outbox *o, int64_t max_wait_ms);

/* Preferences (REST). ERR_NOT_FOUND when the account has no known address. */
int mail_outbox_prefs_get(struct mail_outbox *o, uint64_t account_id, struct arena *a,
                          struct mail_prefs *out, struct err *err);
int mail_outbox_prefs_set(struct mail_outbox *o, uint64_t account_id, const struct mail_prefs *p,
                          struct err *err);
/* Turns off kind (follow, mention, favourite; NULL or "all": all three) for the account of the
 * unsubscribe token. ERR_NOT_FOUND for an unknown token, ERR_INVALID for an unknown kind. */
int mail_outbox_unsubscribe(struct mail_outbox *o, const char *token, const char *kind,
                            struct err *err);

struct mail_outbox_metrics {
    int64_t sent, retried, failed; /* counters since start */
    int64_t dlq_deferred;          /* dead letters kept queued: dead_letter failed */
    int64_t queue_depth;           /* queued mails */
    int64_t oldest_age_ms;         /* age of the oldest queued mail, 0 when none */
    int64_t dead;                  /* dead letters in the store */
};
int mail_outbox_metrics(struct mail_outbox *o, struct mail_outbox_metrics *out, struct err *err);

#endif
