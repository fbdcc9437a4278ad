/* statuses.c - posting, reading, deleting, threads, timelines, favourites and follows, with
 * the visibility rule applied in one place (statuses_visible). */
#include "services/threadly/app/statuses.h"

#include "lib/base/buf.h"
#include "services/threadly/app/entities.h"
#include "services/threadly/app/events.h"
#include "services/threadly/app/home.h"
#include "services/threadly/domain/account.h"
#include "services/threadly/domain/status_text.h"

#include <stdio.h>
#include <string.h>

#define IDEMPOTENCY_TTL_MS (60 * 60 * 1000)
#define CONTEXT_MAX_ANCESTORS 40
#define CONTEXT_MAX_DESCENDANTS 60

static bool parse_visibility(const char *s, enum visibility *out)
{
    static const char *const names[] = {"public", "unlisted", "private", "direct"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum visibility)i;
            return true;
        }
    }
    return false;
}

int statuses_visible(struct core *c, uint64_t viewer, const struct status *s, bool *visible,
                     struct err *err)
{
    *visible = true;
    if (s->visibility == VISIBILITY_PUBLIC || s->visibility == VISIBILITY_UNLISTED ||
        (viewer && viewer == s->account_id))
        return 0;
    for (size_t i = 0; viewer && i < s->nmentions; i++)
        if (s->mentions[i] == viewer)
            return 0;
    *visible = false;
    if (s->visibility == VISIBILITY_DIRECT || !viewer)
        return 0;
    struct relationship rel;
    int rc = social_store_relationship(&c->social, viewer, s->account_id, &rel, err);
    if (rc)
        return rc;
    *visible = rel.following;
    return 0;
}

struct resolve_ctx {
    struct core *c;
    struct arena *a;
    uint64_t *ids;
    struct account **accts; /* accts[i] is account ids[i] */
    size_t n, cap;
    int rc;
    struct err *err;
};

/* Resolves a mention to a local account (username, or username@our-domain) and remembers
 * its id; returns its profile URL, or NULL when it names nobody here. */
static const char *resolve_mention(void *ctx, const char *mention)
{
    struct resolve_ctx *r = ctx;
    char *name = arena_strdup(r->a, mention);
    char *at = strchr(name, '@');
    if (at) {
        char *domain = arena_strdup(r->a, at + 1), *ours = arena_strdup(r->a, r->c->domain);
        account_fold_case(domain);
        account_fold_case(ours);
        if (strcmp(domain, ours) != 0)
            return NULL;
        *at = '\0';
    }
    struct account *acct;
    int rc = account_store_get_by_username(&r->c->accounts, name, r->a, &acct, r->err);
    if (rc) {
        if (rc != ERR_NOT_FOUND)
            r->rc = rc;
        return NULL;
    }
    bool seen = false;
    for (size_t i = 0; i < r->n; i++)
        seen |= r->ids[i] == acct->id;
    if (!seen) {
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 8;
            uint64_t *ids = arena_alloc(r->a, cap * sizeof(*ids));
            struct account **accts = arena_alloc(r->a, cap * sizeof(*accts));
            if (r->n) {
                memcpy(ids, r->ids, r->n * sizeof(*ids));
                memcpy(accts, r->accts, r->n * sizeof(*accts));
            }
            r->ids = ids;
            r->accts = accts;
            r->cap = cap;
        }
        r->accts[r->n] = acct;
        r->ids[r->n++] = acct->id;
    }
    return arena_sprintf(r->a, "%s/@%s", r->c->base_url, acct->username);
}

/* Lower-cased, de-duplicated hashtags. */
static void collect_tags(const struct text_tokens *t, struct arena *a, struct status *s)
{
    const char **tags = arena_alloc(a, (t->n + 1) * sizeof(*tags));
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i].kind != TOKEN_HASHTAG)
            continue;
        char *tag = arena_strdup(a, t->items[i].value);
        account_fold_case(tag);
        bool dup = false;
        for (size_t j = 0; j < n; j++)
            dup |= strcmp(tags[j], tag) == 0;
        if (!dup)
            tags[n++] = tag;
    }
    s->tags = tags;
    s->ntags = n;
}

int statuses_post(struct core *c, uint64_t author, const struct post_request *r, struct arena *a,
                  struct status **out, struct validation *v, struct err *err)
{
    enum visibility vis = VISIBILITY_PUBLIC;
    const char *text = r->text ? r->text : "";
    const char *spoiler = r->spoiler_text ? r->spoiler_text : "";
    const char *lang = r->language ? r->language : "";
    char key[TTLMAP_KEY_MAX];
    uint64_t earlier;

    if (r->idempotency_key && c->idempotency) {
        snprintf(key, sizeof(key), "%llu:%s", (unsigned long long)author, r->idempotency_key);
        if (ttlmap_get(c->idempotency, key, clock_now_ms(c->clock), &earlier) &&
            status_store_get(&c->statuses, earlier, a, out, err) == 0)
            return 0;
    }
    if (r->visibility && !parse_visibility(r->visibility, &vis))
        validation_add(v, "visibility", "ERR_INCLUSION", "is not included in the list");
    if (!utf8_valid(text, strlen(text)) || !utf8_valid(spoiler, strlen(spoiler)))
        validation_add(v, "text", "ERR_INVALID", "is not valid UTF-8");
    if (strlen(lang) > 8)
        validation_add(v, "language", "ERR_INVALID", "is invalid");
    if (!validation_ok(v))
        return ERR_INVALID;
    struct text_tokens tokens;
    status_text_scan(text, a, &tokens);
    size_t len = status_text_length(text, &tokens, 23) + utf8_length(spoiler, strlen(spoiler));
    const char *trimmed = text;
    while (*trimmed == ' ' || *trimmed == '\n' || *trimmed == '\t' || *trimmed == '\r')
        trimmed++;
    if (!*trimmed)
        validation_add(v, "text", "ERR_BLANK", "can't be blank");
    else if (len > (size_t)c->max_characters)
        validation_add(v, "text", "ERR_TOO_LONG", "character limit exceeded");
    if (!validation_ok(v))
        return ERR_INVALID;

    struct status *s = arena_calloc(a, 1, sizeof(*s));
    if (r->in_reply_to_id) {
        struct status *parent;
        int rc = statuses_get(c, author, r->in_reply_to_id, a, &parent, err);
        if (rc)
            return rc;
        s->in_reply_to_id = parent->id;
        s->in_reply_to_account_id = parent->account_id;
    }
    struct resolve_ctx rctx = {c, a, NULL, NULL, 0, 0, 0, err};
    s->content = status_text_html(text, &tokens, c->base_url, resolve_mention, &rctx, a);
    if (rctx.rc)
        return rctx.rc;
    s->id = idgen_next(c->ids);
    s->account_id = author;
    s->text = text;
    s->spoiler_text = spoiler;
    s->visibility = vis;
    s->sensitive = r->sensitive || *spoiler;
    s->language = lang;
    s->created_at_ms = clock_now_ms(c->clock);
    s->mentions = rctx.ids;
    s->nmentions = rctx.n;
    collect_tags(&tokens, a, s);
    /* The snapshot is the status as it reads right after the insert: no counters yet, and
     * the author with one more status. */
    struct account *writer, *after = arena_alloc(a, sizeof(*after));
    int rc = entities_accounts(c, &author, 1, a, &writer, err);
    if (rc)
        return rc;
    if (!writer)
        return err_set(err, ERR_NOT_FOUND, "account %llu not found", (unsigned long long)author);
    *after = *writer;
    after->statuses_count++;
    after->last_status_at_ms = s->created_at_ms;
    struct events_draft d;
    events_draft_init(&d, c, a, EVENTS_STATUS_CREATED, s->id);
    d.at_ms = s->created_at_ms;
    d.status = events_status_json(&d, s, after, (const struct account *const *)rctx.accts);
    d.nmentions = s->nmentions;
    d.mentions = s->mentions;
    d.in_reply_to_account_id = s->in_reply_to_account_id;
    d.in_reply_to_id = s->in_reply_to_id;
    d.status_id = s->id;
    d.account_id = author;
    rc = status_store_insert(&c->statuses, s, &d.emit, err);
    events_draft_done(&d, rc);
    if (rc)
        return rc;
    /* After the commit, so that a feed built meanwhile either read it or is told of it. */
    struct home_post hp = {s->id, s->account_id, s->visibility, s->nmentions, s->mentions};
    home_status_created(c, &hp);
    if (r->idempotency_key && c->idempotency)
        ttlmap_put(c->idempotency, key, s->id, s->created_at_ms);
    /* The status as inserted (a new status has no replies or favourites yet) with its author
     * as the insert left it, as the event's snapshot has them: no read back. */
    s->author = after;
    *out = s;
    return 0;
}

int statuses_get(struct core *c, uint64_t viewer, uint64_t id, struct arena *a, struct status **out,
                 struct err *err)
{
    bool visible;
    int rc = entities_status(c, id, a, out, err);
    if (rc)
        return rc;
    rc = statuses_visible(c, viewer, *out, &visible, err);
    if (rc)
        return rc;
    return visible
               ? 0
               : err_set(err, ERR_NOT_FOUND, "status %llu is not visible", (unsigned long long)id);
}

int statuses_delete(struct core *c, uint64_t author, uint64_t id, struct arena *a,
                    struct status **out, struct err *err)
{
    int rc = statuses_get(c, author, id, a, out, err);
    if (rc)
        return rc;
    if ((*out)->account_id != author)
        return err_set(err, ERR_FORBIDDEN, "status %llu is not yours", (unsigned long long)id);
    struct events_draft d;
    events_draft_init(&d, c, a, EVENTS_STATUS_DELETED, id);
    d.status_id = id;
    d.account_id = author;
    d.visibility = (int)(*out)->visibility;
    d.mentions = (*out)->mentions; /* who saw a direct status: told of its deletion too */
    d.nmentions = (*out)->nmentions;
    d.in_reply_to_id = (*out)->in_reply_to_id;
    rc = status_store_remove(&c->statuses, id, &d.emit, err);
    events_draft_done(&d, rc);
    if (rc == 0)
        home_status_deleted(c, id);
    return rc;
}

static void list_push(struct arena *a, struct status_list *l, size_t *cap, const struct status *s)
{
    if (l->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct status *items = arena_alloc(a, ncap * sizeof(*items));
        if (l->n)
            memcpy(items, l->items, l->n * sizeof(*items));
        l->items = items;
        *cap = ncap;
    }
    l->items[l->n++] = *s;
}

/* Depth-first, oldest reply first, as threads read. */
static int descend(struct core *c, uint64_t viewer, uint64_t id, int depth, struct arena *a,
                   struct status_list *out, size_t *cap, struct err *err)
{
    struct status_list replies;
    if (depth > CONTEXT_MAX_ANCESTORS || out->n >= CONTEXT_MAX_DESCENDANTS)
        return 0;
    int rc = status_store_replies(&c->statuses, id, a, &replies, err);
    for (size_t i = 0; rc == 0 && i < replies.n && out->n < CONTEXT_MAX_DESCENDANTS; i++) {
        bool visible;
        rc = statuses_visible(c, viewer, &replies.items[i], &visible, err);
        if (rc || !visible)
            continue;
        list_push(a, out, cap, &replies.items[i]);
        rc = descend(c, viewer, replies.items[i].id, depth + 1, a, out, cap, err);
    }
    return rc;
}

int statuses_context(struct core *c, uint64_t viewer, uint64_t id, struct arena *a,
                     struct status_list *ancestors, struct status_list *descendants,
                     struct err *err)
{
    struct status *s, *parent;
    size_t acap = 0, dcap = 0;
    memset(ancestors, 0, sizeof(*ancestors));
    memset(descendants, 0, sizeof(*descendants));
    int rc = statuses_get(c, viewer, id, a, &s, err);
    if (rc)
        return rc;
    struct status_list up = {0, NULL};
    size_t upcap = 0;
    for (uint64_t p = s->in_reply_to_id; p && up.n < CONTEXT_MAX_ANCESTORS;
         p = parent->in_reply_to_id) {
        rc = statuses_get(c, viewer, p, a, &parent, err);
        if (rc == ERR_NOT_FOUND)
            break; /* deleted or invisible: the thread above it is not shown */
        if (rc)
            return rc;
        list_push(a, &up, &upcap, parent);
    }
    for (size_t i = up.n; i > 0; i--)
        list_push(a, ancestors, &acap, &up.items[i - 1]);
    return descend(c, viewer, id, 0, a, descendants, &dcap, err);
}

int statuses_timeline(struct core *c, struct timeline_query *q, struct arena *a,
                      struct status_list *out, struct err *err)
{
    if (q->page.limit <= 0)
        q->page.limit = 20;
    if (q->page.limit > 40)
        q->page.limit = 40;
    if (q->kind == TIMELINE_HOME)
        return home_timeline(c, q, a, out, err);
    return status_store_timeline(&c->statuses, q, a, out, err);
}

/* The Status snapshot of s for d, with the author and mentioned accounts it shows. */
static int status_snapshot(struct core *c, struct events_draft *d, const struct status *s,
                           struct arena *a, struct err *err)
{
    uint64_t *ids = arena_alloc(a, (1 + s->nmentions) * sizeof(*ids));
    struct account **accts = arena_alloc(a, (1 + s->nmentions) * sizeof(*accts));
    ids[0] = s->account_id;
    for (size_t i = 0; i < s->nmentions; i++)
        ids[1 + i] = s->mentions[i];
    int rc = account_store_get_many(&c->accounts, ids, 1 + s->nmentions, a, accts, err);
    if (rc)
        return rc;
    if (!accts[0])
        return err_set(err, ERR_NOT_FOUND, "author of status %llu is gone",
                       (unsigned long long)s->id);
    d->status = events_status_json(d, s, accts[0], (const struct account *const *)accts + 1);
    return 0;
}

int statuses_favourite(struct core *c, uint64_t account, uint64_t id, bool on, struct arena *a,
                       struct status **out, struct err *err)
{
    bool changed;
    struct events_draft d;
    int rc = statuses_get(c, account, id, a, out, err);
    if (rc)
        return rc;
    events_draft_init(&d, c, a, on ? EVENTS_FAVOURITE_CREATED : EVENTS_FAVOURITE_DELETED, id);
    d.account_id = account;
    d.status_id = id;
    d.status_account_id = (*out)->account_id;
    if (on) {
        /* Snapshots as they read right after the favourite. */
        struct account *me;
        struct status after = **out;
        after.favourites_count++;
        rc = account_store_get(&c->accounts, account, a, &me, err);
        if (rc == 0)
            rc = status_snapshot(c, &d, &after, a, err);
        if (rc)
            return rc;
        d.account = events_account_json(&d, me);
        rc = social_store_favourite(&c->social, idgen_next(c->ids), account, id, d.at_ms, &changed,
                                    &d.emit, err);
    } else {
        rc = social_store_unfavourite(&c->social, account, id, &changed, &d.emit, err);
    }
    events_draft_done(&d, rc);
    if (rc)
        return rc;
    return status_store_get(&c->statuses, id, a, out, err);
}

/* The account and target snapshots of a follow event, as they read once the follow is made
 * (counters moved by one unless it is only a request). */
static int follow_snapshots(struct core *c, struct events_draft *d, const struct account *target,
                            bool counted, struct arena *a, struct err *err)
{
    struct account *follower;
    int rc = account_store_get(&c->accounts, d->account_id, a, &follower, err);
    if (rc)
        return rc;
    struct account x = *follower, y = *target;
    x.following_count += counted;
    y.followers_count += counted;
    d->account = events_account_json(d, &x);
    d->target = events_account_json(d, &y);
    return 0;
}

int social_follow(struct core *c, uint64_t follower, uint64_t target, bool on,
                  struct relationship *out, struct err *err)
{
    struct arena a;
    struct account *acct;
    bool changed;
    struct events_draft d;
    if (follower == target)
        return err_set(err, ERR_FORBIDDEN, "cannot follow yourself");
    arena_init(&a, 0);
    events_draft_init(&d, c, &a, on ? EVENTS_FOLLOW_CREATED : EVENTS_FOLLOW_REMOVED, target);
    d.account_id = follower;
    d.target_id = target;
    int rc = account_store_get(&c->accounts, target, &a, &acct, err);
    if (rc == 0 && on) {
        d.requested = acct->locked;
        rc = follow_snapshots(c, &d, acct, !acct->locked, &a, err);
        if (rc == 0)
            rc = social_store_follow(&c->social, idgen_next(c->ids), follower, target, acct->locked,
                                     d.at_ms, &changed, &d.emit, err);
        events_draft_done(&d, rc);
    } else if (rc == 0) {
        rc = social_store_unfollow(&c->social, follower, target, &changed, &d.emit, err);
        events_draft_done(&d, rc);
    }
    if (rc == 0 && changed)
        home_follows_changed(c, follower);
    if (rc == 0)
        rc = social_store_relationship(&c->social, follower, target, out, err);
    arena_release(&a);
    return rc;
}

int social_answer_request(struct core *c, uint64_t account, uint64_t requester, bool accept,
                          struct relationship *out, struct err *err)
{
    struct relationship rel;
    struct arena a;
    struct account *me;
    struct events_draft d;
    bool removed;
    int rc = social_store_relationship(&c->social, account, requester, &rel, err);
    if (rc)
        return rc;
    if (!rel.requested_by)
        return err_set(err, ERR_NOT_FOUND, "no follow request");
    arena_init(&a, 0);
    events_draft_init(&d, c, &a, accept ? EVENTS_FOLLOW_ACCEPTED : EVENTS_FOLLOW_REMOVED, account);
    d.account_id = requester;
    d.target_id = account;
    if (accept) {
        rc = account_store_get(&c->accounts, account, &a, &me, err);
        if (rc == 0)
            rc = follow_snapshots(c, &d, me, true, &a, err);
        if (rc == 0)
            rc = social_store_accept(&c->social, requester, account, &d.emit, err);
    } else {
        rc = social_store_unfollow(&c->social, requester, account, &removed, &d.emit, err);
    }
    events_draft_done(&d, rc);
    arena_release(&a);
    if (rc)
        return rc;
    home_follows_changed(c, requester);
    return social_store_relationship(&c->social, account, requester, out, err);
}
