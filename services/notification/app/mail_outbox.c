/* mail_outbox.c - events to queued mails, and the sender's pass over the queue. */
#include "services/notification/app/mail_outbox.h"

#include "lib/base/buf.h"

#include <string.h>

#define HELD_NAMES_MAX 5 /* actor names a digest lists; the rest is the count */

int mail_outbox_init(struct mail_outbox *o, struct err *err)
{
    if (!o->cfg.from || !mail_address_of(o->cfg.from, o->envelope_from, sizeof(o->envelope_from)))
        return err_set(err, ERR_INVALID, "--smtp-from: '%s' has no address",
                       o->cfg.from ? o->cfg.from : "");
    if (!o->cfg.public_url || strncmp(o->cfg.public_url, "http", 4) != 0)
        return err_set(err, ERR_INVALID, "mail: the public URL must be http(s)://...");
    if (o->cfg.flood_window_ms < 0 || o->cfg.max_attempts < 1 || o->cfg.backoff_base_ms < 1 ||
        o->cfg.backoff_max_ms < o->cfg.backoff_base_ms)
        return err_set(err, ERR_INVALID, "mail: bad flood window, attempts or backoff");
    if (mtx_init(&o->flood_mu, mtx_plain) != thrd_success)
        return err_set(err, ERR_INTERNAL, "mtx_init failed");
    return 0;
}

void mail_outbox_release(struct mail_outbox *o)
{
    mtx_destroy(&o->flood_mu);
}

int mail_outbox_recipient(struct mail_outbox *o, const struct mail_recipient *r, struct err *err)
{
    char token[48];
    random_token(o->random, 24, token);
    return mail_store_recipient_put(&o->store, r, token, err);
}

/* ---- composing ---- */

static const char *const what_of[] = {[MAIL_FOLLOW] = "new followers",
                                      [MAIL_MENTION] = "mentions",
                                      [MAIL_FAVOURITE] = "likes of your posts"};
static const char *const label_of[] = {
    [MAIL_FOLLOW] = "follow", [MAIL_MENTION] = "mention", [MAIL_FAVOURITE] = "like"};

struct compose {
    struct mail_var vars[20];
    size_t n;
};

static void var(struct compose *c, const char *name, const char *value)
{
    ASSERT(c->n < sizeof(c->vars) / sizeof(c->vars[0]));
    c->vars[c->n++] = (struct mail_var){name, value ? value : ""};
}

/* Formats the message of kind with c's variables into *job (queued now, in arena a). */
static int compose(struct mail_outbox *o, enum mail_kind kind, struct compose *c, const char *to,
                   const char *unsubscribe_url, struct arena *a, struct mail_job *job,
                   struct err *err)
{
    struct mail_parts parts;
    var(c, "instance", o->cfg.instance);
    int rc = mail_compose(&mail_templates[kind], c->vars, c->n, a, &parts, err);
    if (rc)
        return rc;
    const char *domain = strrchr(o->envelope_from, '@') + 1;
    char rnd[24];
    random_token(o->random, 12, rnd);
    struct mail_message m = {
        .from = o->cfg.from,
        .to = to,
        .subject = parts.subject,
        .text = parts.text,
        .html = parts.html,
        .message_id = arena_sprintf(a, "<%llu.%s@%s>", (unsigned long long)job->id, rnd, domain),
        .boundary = arena_sprintf(a, "=_threadly_%llu", (unsigned long long)job->id),
        .date_ms = job->created_at_ms,
        .unsubscribe_url = unsubscribe_url,
    };
    struct buf b = BUF_INIT;
    rc = mail_format(&m, &b, err);
    if (rc == 0) {
        job->to = arena_strdup(a, to);
        job->data = arena_strndup(a, b.data, b.len);
        job->state = MAIL_JOB_QUEUED;
        job->next_attempt_at_ms = job->created_at_ms;
    }
    buf_release(&b);
    return rc;
}

static const char *unsubscribe_url(struct mail_outbox *o, const struct mail_prefs *p,
                                   enum mail_kind kind, struct arena *a)
{
    return arena_sprintf(a, "%s/mail/unsubscribe?token=%s&kind=%s", o->cfg.public_url,
                         p->unsubscribe_token, mail_kind_name(kind));
}

static bool pref_on(const struct mail_prefs *p, enum mail_kind kind)
{
    return kind == MAIL_FOLLOW ? p->follow : kind == MAIL_MENTION ? p->mention : p->favourite;
}

/* The variables every notification mail has. */
static void common_vars(struct compose *c, const struct mail_recipient *r, const char *unsub)
{
    var(c, "username", *r->display_name ? r->display_name : r->username);
    var(c, "unsubscribe_url", unsub);
}

/* A digest of kind for r: count mails held (names: the first few actors), in a. */
static int compose_digest(struct mail_outbox *o, enum mail_kind kind,
                          const struct mail_recipient *r, const struct mail_prefs *p, int count,
                          const char *names, struct arena *a, struct mail_job *job, struct err *err)
{
    struct compose c = {0};
    const char *unsub = unsubscribe_url(o, p, kind, a);
    common_vars(&c, r, unsub);
    var(&c, "count", arena_sprintf(a, "%d", count));
    var(&c, "what", what_of[kind]);
    var(&c, "names", names);
    var(&c, "kind", label_of[kind]);
    var(&c, "window_minutes",
        arena_sprintf(a, "%lld", (long long)(o->cfg.flood_window_ms / 60000)));
    var(&c, "notifications_url", arena_sprintf(a, "%s/notifications", o->cfg.public_url));
    job->kind = arena_sprintf(a, "digest:%s", mail_kind_name(kind));
    return compose(o, MAIL_DIGEST, &c, r->email, unsub, a, job, err);
}

static const char *append_name(struct arena *a, const char *names, int held, const char *name)
{
    if (held >= HELD_NAMES_MAX)
        return names;
    return *names ? arena_sprintf(a, "%s, %s", names, name) : arena_strdup(a, name);
}

/* Records job (and flood); a conflict means the decision was taken before. */
static int record(struct mail_outbox *o, const struct mail_job *job, const struct mail_flood *f,
                  enum mail_outcome outcome, enum mail_outcome *out, struct err *err)
{
    int rc = mail_store_record(&o->store, job, f, err);
    if (rc == ERR_CONFLICT) {
        *out = MAIL_OUTCOME_DUPLICATE;
        return 0;
    }
    if (rc == 0)
        *out = outcome;
    if (rc == 0 && outcome == MAIL_OUTCOME_QUEUED && job->state == MAIL_JOB_QUEUED && o->queued)
        o->queued(o->queued_ctx);
    return rc;
}

static int request_transactional(struct mail_outbox *o, const struct mail_event *e,
                                 struct mail_job *job, struct arena *a, enum mail_outcome *out,
                                 struct err *err)
{
    struct compose c = {0};
    const char *path = e->kind == MAIL_CONFIRMATION ? "/auth/confirm" : "/auth/password/edit";
    var(&c, "username", e->username);
    var(&c, "link", arena_sprintf(a, "%s%s?token=%s", o->cfg.public_url, path, e->token));
    var(&c, "ttl_hours", arena_sprintf(a, "%d", o->cfg.token_ttl_hours));
    int rc = compose(o, e->kind, &c, e->email, NULL, a, job, err);
    if (rc == ERR_INVALID) {
        job->state = MAIL_JOB_SKIPPED;
        job->last_error = arena_strdup(a, err->msg);
        struct err rerr = {0};
        int rc2 = record(o, job, NULL, MAIL_OUTCOME_SKIPPED, out, &rerr);
        if (rc2 || *out == MAIL_OUTCOME_DUPLICATE) {
            *err = rerr;
            return rc2;
        }
        return rc; /* recorded as skipped; the caller learns why */
    }
    return rc ? rc : record(o, job, NULL, MAIL_OUTCOME_QUEUED, out, err);
}

static int request_notification(struct mail_outbox *o, const struct mail_event *e,
                                struct mail_job *job, struct arena *a, enum mail_outcome *out,
                                struct err *err)
{
    struct mail_recipient r;
    struct mail_prefs p;
    struct mail_flood f;
    int64_t now = job->created_at_ms;
    int rc = mail_store_recipient_get(&o->store, e->recipient_id, a, &r, err);
    if (rc == 0)
        rc = mail_store_prefs_get(&o->store, e->recipient_id, a, &p, err);
    if (rc == ERR_NOT_FOUND || (rc == 0 && !pref_on(&p, e->kind))) {
        job->state = MAIL_JOB_SKIPPED;
        job->last_error = rc ? "no address known" : "preference off";
        return record(o, job, NULL, MAIL_OUTCOME_SKIPPED, out, err);
    }
    if (rc)
        return rc;
    mtx_lock(&o->flood_mu);
    rc = mail_store_flood_get(&o->store, e->recipient_id, mail_kind_name(e->kind), a, &f, err);
    const char *actor = e->actor_name && *e->actor_name ? e->actor_name : e->actor_acct;
    if (rc == 0 && f.last_sent_at_ms && now - f.last_sent_at_ms < o->cfg.flood_window_ms) {
        /* Within the window: held, counted in the next mail of this kind. */
        job->state = MAIL_JOB_HELD;
        f.held_names = append_name(a, f.held_names, f.held, actor);
        f.held++;
        rc = record(o, job, &f, MAIL_OUTCOME_HELD, out, err);
    } else if (rc == 0 && f.held > 0) {
        /* The window is over and mails were held: this one sums them up with itself. */
        const char *names = append_name(a, f.held_names, f.held, actor);
        rc = compose_digest(o, e->kind, &r, &p, f.held + 1, names, a, job, err);
        job->kind = mail_kind_name(e->kind); /* the key stays the event's */
        struct mail_flood next = {e->recipient_id, f.kind, now, 0, ""};
        if (rc == 0)
            rc = record(o, job, &next, MAIL_OUTCOME_QUEUED, out, err);
    } else if (rc == 0) {
        struct compose c = {0};
        const char *unsub = unsubscribe_url(o, &p, e->kind, a);
        common_vars(&c, &r, unsub);
        var(&c, "actor", actor);
        var(&c, "actor_acct", e->actor_acct);
        var(&c, "actor_url", e->actor_url);
        var(&c, "status_text", e->status_text);
        var(&c, "status_url", e->status_url);
        rc = compose(o, e->kind, &c, r.email, unsub, a, job, err);
        struct mail_flood next = {e->recipient_id, f.kind, now, 0, ""};
        if (rc == 0)
            rc = record(o, job, &next, MAIL_OUTCOME_QUEUED, out, err);
    }
    mtx_unlock(&o->flood_mu);
    return rc;
}

int mail_outbox_request(struct mail_outbox *o, const struct mail_event *e, enum mail_outcome *out,
                        struct err *err)
{
    ASSERT(e->kind != MAIL_DIGEST);
    struct arena a;
    arena_init(&a, 8192);
    struct mail_job job = {.id = idgen_next(o->ids),
                           .event_id = e->event_id,
                           .recipient_id = e->recipient_id,
                           .kind = mail_kind_name(e->kind),
                           .to = "",
                           .data = "",
                           .created_at_ms = clock_now_ms(o->clock),
                           .last_error = ""};
    int rc = mail_kind_is_notification(e->kind) ? request_notification(o, e, &job, &a, out, err)
                                                : request_transactional(o, e, &job, &a, out, err);
    arena_release(&a);
    return rc;
}

/* ---- sending ---- */

/* Queues the digest of one flood state whose window is over. */
static int digest_one(struct mail_outbox *o, const struct mail_flood *f, struct arena *a,
                      struct err *err)
{
    enum mail_kind kind;
    struct mail_recipient r;
    struct mail_prefs p;
    enum mail_outcome out;
    int64_t now = clock_now_ms(o->clock);
    struct mail_flood cleared = {f->account_id, f->kind, now, 0, ""};
    struct mail_job job = {.id = idgen_next(o->ids),
                           .recipient_id = f->account_id,
                           .to = "",
                           .data = "",
                           .created_at_ms = now,
                           .last_error = ""};
    job.event_id = job.id; /* a digest answers no single event */
    int rc = mail_kind_parse(f->kind, &kind) ? 0 : ERR_INVALID;
    if (rc == 0)
        rc = mail_store_recipient_get(&o->store, f->account_id, a, &r, err);
    if (rc == 0)
        rc = mail_store_prefs_get(&o->store, f->account_id, a, &p, err);
    if (rc == 0 && pref_on(&p, kind))
        rc = compose_digest(o, kind, &r, &p, f->held, f->held_names, a, &job, err);
    else if (rc == 0 || rc == ERR_NOT_FOUND || rc == ERR_INVALID) {
        /* Turned off since, or gone: drop what was held. */
        job.kind = arena_sprintf(a, "digest:%s", f->kind);
        job.state = MAIL_JOB_SKIPPED;
        job.last_error = "preference off";
        rc = 0;
    }
    return rc ? rc : record(o, &job, &cleared, MAIL_OUTCOME_QUEUED, &out, err);
}

static int digests(struct mail_outbox *o, struct err *err)
{
    struct arena a;
    struct mail_flood *f;
    size_t n = 0;
    arena_init(&a, 8192);
    mtx_lock(&o->flood_mu);
    int64_t before = clock_now_ms(o->clock) - o->cfg.flood_window_ms;
    int rc = mail_store_digests_due(&o->store, before, 100, &a, &f, &n, err);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = digest_one(o, &f[i], &a, err);
    mtx_unlock(&o->flood_mu);
    arena_release(&a);
    return rc;
}

/* The delay before attempt number attempts + 1: base * 2^(attempts - 1), capped. */
static int64_t backoff(const struct mail_outbox *o, int attempts)
{
    int64_t d = o->cfg.backoff_base_ms;
    for (int i = 1; i < attempts && d < o->cfg.backoff_max_ms; i++)
        d *= 2;
    return d < o->cfg.backoff_max_ms ? d : o->cfg.backoff_max_ms;
}

/* Marks j dead with why, once o->dead_letter (if any) took it; else keeps it queued for
 * another attempt after the backoff, the reason kept in last_error. */
static int dead_letter(struct mail_outbox *o, const struct mail_job *j, int attempts,
                       const char *why, int64_t now, struct arena *a, struct err *err)
{
    struct err derr = {0};
    if (o->dead_letter) {
        struct mail_job dead = *j;
        dead.attempts = attempts;
        dead.state = MAIL_JOB_DEAD;
        dead.last_error = why;
        if (o->dead_letter(o->dead_letter_ctx, &dead, why, &derr) != 0) {
            __atomic_add_fetch(&o->dlq_deferred, 1, __ATOMIC_RELAXED);
            const char *kept = arena_sprintf(a, "%s (kept: dead-letter topic: %s)", why, derr.msg);
            return mail_store_update(&o->store, j->id, MAIL_JOB_QUEUED, attempts,
                                     now + backoff(o, attempts), 0, kept, err);
        }
    }
    __atomic_add_fetch(&o->failed, 1, __ATOMIC_RELAXED);
    return mail_store_update(&o->store, j->id, MAIL_JOB_DEAD, attempts, j->next_attempt_at_ms, 0,
                             why, err);
}

int mail_outbox_send_due(struct mail_outbox *o, int limit, int *sent, struct err *err)
{
    struct arena a;
    struct mail_job *jobs;
    size_t n = 0;
    int ok = 0, transient_run = 0;
    int rc = digests(o, err);
    if (rc)
        return rc;
    arena_init(&a, 65536);
    rc = mail_store_due(&o->store, clock_now_ms(o->clock), limit, &a, &jobs, &n, err);
    for (size_t i = 0; i < n && rc == 0 && transient_run < 3; i++) {
        struct mail_job *j = &jobs[i];
        struct err serr = {0};
        int src = mailer_send(&o->mailer, o->envelope_from, j->to, j->data, strlen(j->data), &serr);
        int64_t now = clock_now_ms(o->clock);
        int attempts = j->attempts + 1;
        if (src == 0) {
            transient_run = 0;
            ok++;
            __atomic_add_fetch(&o->sent, 1, __ATOMIC_RELAXED);
            rc = mail_store_update(&o->store, j->id, MAIL_JOB_SENT, attempts, j->next_attempt_at_ms,
                                   now, "", err);
        } else if (src == ERR_UNAVAILABLE && attempts < o->cfg.max_attempts) {
            transient_run++;
            __atomic_add_fetch(&o->retried, 1, __ATOMIC_RELAXED);
            rc = mail_store_update(&o->store, j->id, MAIL_JOB_QUEUED, attempts,
                                   now + backoff(o, attempts), 0, serr.msg, err);
        } else {
            transient_run = src == ERR_UNAVAILABLE ? transient_run + 1 : 0;
            const char *why =
                src == ERR_UNAVAILABLE
                    ? arena_sprintf(&a, "gave up after %d attempts: %s", attempts, serr.msg)
                    : arena_sprintf(&a, "refused: %s", serr.msg);
            rc = dead_letter(o, j, attempts, why, now, &a, err);
        }
    }
    arena_release(&a);
    if (sent)
        *sent = ok;
    return rc;
}

int64_t mail_outbox_next_wake_ms(struct mail_outbox *o, int64_t max_wait_ms)
{
    struct arena a;
    struct mail_job *jobs;
    struct mail_flood *f;
    size_t n = 0;
    struct err err = {0};
    int64_t now = clock_now_ms(o->clock), wake = now + max_wait_ms;
    arena_init(&a, 4096);
    if (mail_store_due(&o->store, wake, 1, &a, &jobs, &n, &err) == 0 && n == 1 &&
        jobs[0].next_attempt_at_ms < wake)
        wake = jobs[0].next_attempt_at_ms;
    n = 0;
    if (mail_store_digests_due(&o->store, wake - o->cfg.flood_window_ms, 100, &a, &f, &n, &err) ==
        0)
        for (size_t i = 0; i < n; i++)
            if (f[i].last_sent_at_ms + o->cfg.flood_window_ms < wake)
                wake = f[i].last_sent_at_ms + o->cfg.flood_window_ms;
    arena_release(&a);
    return wake < now ? now : wake;
}

/* ---- preferences ---- */

int mail_outbox_prefs_get(struct mail_outbox *o, uint64_t account_id, struct arena *a,
                          struct mail_prefs *out, struct err *err)
{
    return mail_store_prefs_get(&o->store, account_id, a, out, err);
}

int mail_outbox_prefs_set(struct mail_outbox *o, uint64_t account_id, const struct mail_prefs *p,
                          struct err *err)
{
    return mail_store_prefs_set(&o->store, account_id, p, err);
}

int mail_outbox_unsubscribe(struct mail_outbox *o, const char *token, const char *kind,
                            struct err *err)
{
    uint64_t id;
    struct arena a;
    struct mail_prefs p;
    enum mail_kind k = MAIL_DIGEST; /* MAIL_DIGEST here: all three */
    if (kind && *kind && strcmp(kind, "all") != 0 &&
        (!mail_kind_parse(kind, &k) || !mail_kind_is_notification(k) || k == MAIL_DIGEST))
        return err_set(err, ERR_INVALID, "unknown mail kind");
    if (!token || !*token || strlen(token) > 64)
        return err_set(err, ERR_NOT_FOUND, "no unsubscribe token");
    int rc = mail_store_prefs_by_token(&o->store, token, &id, err);
    if (rc)
        return rc;
    arena_init(&a, 1024);
    rc = mail_store_prefs_get(&o->store, id, &a, &p, err);
    if (rc == 0) {
        p.follow = p.follow && k != MAIL_FOLLOW && k != MAIL_DIGEST;
        p.mention = p.mention && k != MAIL_MENTION && k != MAIL_DIGEST;
        p.favourite = p.favourite && k != MAIL_FAVOURITE && k != MAIL_DIGEST;
        rc = mail_store_prefs_set(&o->store, id, &p, err);
    }
    arena_release(&a);
    return rc;
}

int mail_outbox_metrics(struct mail_outbox *o, struct mail_outbox_metrics *out, struct err *err)
{
    struct mail_store_stats st;
    int rc = mail_store_stats(&o->store, &st, err);
    if (rc)
        return rc;
    int64_t now = clock_now_ms(o->clock);
    *out = (struct mail_outbox_metrics){
        .sent = __atomic_load_n(&o->sent, __ATOMIC_RELAXED),
        .retried = __atomic_load_n(&o->retried, __ATOMIC_RELAXED),
        .failed = __atomic_load_n(&o->failed, __ATOMIC_RELAXED),
        .dlq_deferred = __atomic_load_n(&o->dlq_deferred, __ATOMIC_RELAXED),
        .queue_depth = st.queued,
        .oldest_age_ms = st.oldest_queued_ms ? now - st.oldest_queued_ms : 0,
        .dead = st.dead,
    };
    return 0;
}
