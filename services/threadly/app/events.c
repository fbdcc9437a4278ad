/* events.c - domain event drafts: the payloads of docs/events.md, built inside the store's
 * transaction from what the use case prepared and what the store found. */
#include "services/threadly/app/events.h"

#include "lib/base/buf.h"
#include "lib/base/jsonw.h"
#include "lib/base/xalloc.h"
#include "services/threadly/app/entities.h"

#include <string.h>

static const char *const visibility_names[] = {"public", "unlisted", "private", "direct"};

/* Copies b's text into the arena and empties b. */
static const char *take(struct arena *a, struct buf *b)
{
    const char *s = arena_strndup(a, b->data ? b->data : "", b->len);
    buf_reset(b);
    return s;
}

static void event_set(struct events_draft *d, struct event *e, const char *type, struct buf *data)
{
    char key[ID_STR_LEN];
    id_format(d->key, key);
    *e = (struct event){
        .id = idgen_next(d->c->ids),
        .type = type,
        .version = 1,
        .occurred_at = d->at_ms,
        .producer = EVENTS_PRODUCER,
        .key = arena_strdup(d->a, key),
        .data = take(d->a, data),
    };
}

static void field_raw(struct jsonw *w, const char *key, const char *json)
{
    jsonw_key(w, key);
    jsonw_raw(w, json, strlen(json));
}

/* {"follow_id","account_id","target_account_id"[,"accepted"]} */
static void follow_ids(struct jsonw *w, const struct events_draft *d, uint64_t row_id, int accepted)
{
    jsonw_object_begin(w);
    jsonw_field_id(w, "follow_id", row_id);
    jsonw_field_id(w, "account_id", d->account_id);
    jsonw_field_id(w, "target_account_id", d->target_id);
    if (accepted >= 0)
        jsonw_field_bool(w, "accepted", accepted);
    jsonw_object_end(w);
}

/* {"follow_id","account":A,"target":A} */
static void follow_snapshots(struct jsonw *w, const struct events_draft *d, uint64_t row_id)
{
    jsonw_object_begin(w);
    jsonw_field_id(w, "follow_id", row_id);
    field_raw(w, "account", d->account);
    field_raw(w, "target", d->target);
    jsonw_object_end(w);
}

/* The outbox_emit builder: runs inside the store's transaction, so it only computes. */
static size_t events_build(void *arg, const struct outbox_change *ch, struct event *out)
{
    struct events_draft *d = arg;
    struct buf b = BUF_INIT;
    struct jsonw w;
    char at[CLOCK_ISO_LEN];
    size_t n = 1;
    jsonw_init(&w, &b);
    d->built = true;
    switch (d->kind) {
    case EVENTS_ACCOUNT_CREATED:
        jsonw_object_begin(&w);
        field_raw(&w, "account", d->account);
        jsonw_field_str(&w, "email", d->email);
        jsonw_field_str(&w, "locale", d->locale);
        jsonw_field_str(&w, "confirmation_token", d->token);
        jsonw_object_end(&w);
        event_set(d, &out[0], "account.created", &b);
        break;
    case EVENTS_TOKENS_REVOKED:
        d->key = ch->row_id;
        clock_format_iso(d->at_ms, at);
        jsonw_object_begin(&w);
        jsonw_field_id(&w, "account_id", ch->row_id);
        jsonw_field_id(&w, "revoked_below_jti", d->jti);
        jsonw_field_str(&w, "revoked_at", at);
        jsonw_object_end(&w);
        event_set(d, &out[0], "account.tokens_revoked", &b);
        break;
    case EVENTS_PASSWORD_RESET_REQUESTED:
        jsonw_object_begin(&w);
        field_raw(&w, "account", d->account);
        jsonw_field_str(&w, "email", d->email);
        jsonw_field_str(&w, "reset_token", d->token);
        jsonw_object_end(&w);
        event_set(d, &out[0], "account.password_reset_requested", &b);
        break;
    case EVENTS_ACCOUNT_UPDATED:
        jsonw_object_begin(&w);
        field_raw(&w, "account", d->account);
        jsonw_object_end(&w);
        event_set(d, &out[0], "account.updated", &b);
        break;
    case EVENTS_TOKEN_REVOKED:
        clock_format_iso(d->at_ms, at);
        jsonw_object_begin(&w);
        jsonw_field_id(&w, "jti", d->jti);
        jsonw_field_id(&w, "account_id", d->account_id);
        jsonw_field_str(&w, "revoked_at", at);
        jsonw_object_end(&w);
        event_set(d, &out[0], "token.revoked", &b);
        break;
    case EVENTS_STATUS_CREATED:
        jsonw_object_begin(&w);
        field_raw(&w, "status", d->status);
        jsonw_key(&w, "mentioned_account_ids");
        jsonw_array_begin(&w);
        for (size_t i = 0; i < d->nmentions; i++)
            jsonw_id(&w, d->mentions[i]);
        jsonw_array_end(&w);
        jsonw_field_id_or_null(&w, "in_reply_to_account_id", d->in_reply_to_account_id);
        jsonw_object_end(&w);
        event_set(d, &out[0], "status.created", &b);
        break;
    case EVENTS_STATUS_DELETED:
        jsonw_object_begin(&w);
        jsonw_field_id(&w, "status_id", d->status_id);
        jsonw_field_id(&w, "account_id", d->account_id);
        jsonw_field_str(&w, "visibility", visibility_names[d->visibility]);
        jsonw_key(&w, "mentioned_account_ids");
        jsonw_array_begin(&w);
        for (size_t i = 0; i < d->nmentions; i++)
            jsonw_id(&w, d->mentions[i]);
        jsonw_array_end(&w);
        jsonw_field_id_or_null(&w, "in_reply_to_id", d->in_reply_to_id);
        jsonw_object_end(&w);
        event_set(d, &out[0], "status.deleted", &b);
        break;
    case EVENTS_FAVOURITE_CREATED:
        jsonw_object_begin(&w);
        jsonw_field_id(&w, "favourite_id", ch->row_id);
        field_raw(&w, "account", d->account);
        field_raw(&w, "status", d->status);
        jsonw_object_end(&w);
        event_set(d, &out[0], "favourite.created", &b);
        break;
    case EVENTS_FAVOURITE_DELETED:
        jsonw_object_begin(&w);
        jsonw_field_id(&w, "favourite_id", ch->row_id);
        jsonw_field_id(&w, "account_id", d->account_id);
        jsonw_field_id(&w, "status_id", d->status_id);
        jsonw_field_id(&w, "status_account_id", d->status_account_id);
        jsonw_object_end(&w);
        event_set(d, &out[0], "favourite.deleted", &b);
        break;
    case EVENTS_FOLLOW_CREATED:
        follow_snapshots(&w, d, ch->row_id);
        event_set(d, &out[0], d->requested ? "follow_request.created" : "follow.created", &b);
        break;
    case EVENTS_FOLLOW_REMOVED:
        follow_ids(&w, d, ch->row_id, ch->was_request ? 0 : -1);
        event_set(d, &out[0], ch->was_request ? "follow_request.deleted" : "follow.deleted", &b);
        break;
    case EVENTS_FOLLOW_ACCEPTED:
        follow_ids(&w, d, ch->row_id, 1);
        event_set(d, &out[0], "follow_request.deleted", &b);
        jsonw_init(&w, &b);
        follow_snapshots(&w, d, ch->row_id);
        event_set(d, &out[1], "follow.created", &b);
        n = 2;
        break;
    }
    buf_release(&b);
    return n;
}

void events_draft_init(struct events_draft *d, struct core *c, struct arena *a,
                       enum events_change kind, uint64_t key)
{
    memset(d, 0, sizeof(*d));
    d->c = c;
    d->a = a;
    d->kind = kind;
    d->key = key;
    d->at_ms = clock_now_ms(c->clock);
    d->emit = (struct outbox_emit){events_build, d};
}

const char *events_account_json(struct events_draft *d, const struct account *acct)
{
    struct buf b = BUF_INIT;
    event_encoder_account(&d->c->encoder, acct, &b);
    const char *s = take(d->a, &b);
    buf_release(&b);
    return s;
}

const char *events_status_json(struct events_draft *d, const struct status *s,
                               const struct account *author, const struct account *const *mentioned)
{
    struct buf b = BUF_INIT;
    event_encoder_status(&d->c->encoder, s, author, mentioned, &b);
    const char *text = take(d->a, &b);
    buf_release(&b);
    return text;
}

/* The statuses and accounts the change alters as rendered: forgotten by the entity cache.
 * Whatever rc says (a failed commit may still have happened), and before the listener is
 * told, so that nothing woken by the change reads the old one. */
static void invalidate(const struct events_draft *d)
{
    struct core *c = d->c;
    switch (d->kind) {
    case EVENTS_ACCOUNT_UPDATED:
        entities_account_changed(c, d->key);
        break;
    case EVENTS_STATUS_CREATED:
    case EVENTS_STATUS_DELETED: /* the author's counters, the parent's replies */
        entities_status_changed(c, d->status_id);
        entities_account_changed(c, d->account_id);
        entities_status_changed(c, d->in_reply_to_id);
        break;
    case EVENTS_FAVOURITE_CREATED:
    case EVENTS_FAVOURITE_DELETED:
        entities_status_changed(c, d->status_id);
        break;
    case EVENTS_FOLLOW_CREATED:
    case EVENTS_FOLLOW_REMOVED:
    case EVENTS_FOLLOW_ACCEPTED:
        entities_account_changed(c, d->account_id);
        entities_account_changed(c, d->target_id);
        break;
    case EVENTS_ACCOUNT_CREATED:
    case EVENTS_TOKEN_REVOKED:
    case EVENTS_PASSWORD_RESET_REQUESTED:
    case EVENTS_TOKENS_REVOKED:
        break;
    }
}

void events_draft_done(struct events_draft *d, int rc)
{
    invalidate(d);
    if (rc == 0 && d->built && d->c->events_committed)
        d->c->events_committed(d->c->events_committed_ctx);
}
