/* event_decoder_json.c - the event_decoder port on jansson: reads each type's data as
 * docs/events.md describes it and refuses anything else. Each message is parsed once; the
 * snapshots it keeps (account, status) are the bytes they arrived in (json_span). */
#include "services/notification/adapters/json/event_decoder_json.h"

#include "lib/base/id.h"
#include "lib/base/json_span.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An id field: a string of digits, not 0. */
static bool id_field(json_t *obj, const char *key, uint64_t *out, struct err *err)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v) && id_parse(json_string_value(v), out) && *out)
        return true;
    err_set(err, ERR_INVALID, "data: \"%s\" missing or not an id", key);
    return false;
}

/* The text of the snapshot v, member `key` of the object whose text is in (*in): the bytes it
 * arrived in, found by json_span (the text is what jansson just accepted), or serialised again
 * when they cannot be found (a name written with escapes). *sp becomes v's own text, for a
 * snapshot nested in it, or empty after the fallback. */
static const char *snapshot(json_t *v, const struct json_span *in, const char *key, struct arena *a,
                            struct json_span *sp)
{
    if (in->p && json_span_member(in->p, in->len, key, sp))
        return arena_strndup(a, sp->p, sp->len);
    *sp = (struct json_span){0};
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    const char *copy = arena_strdup(a, text);
    free(text);
    return copy;
}

/* A Mastodon entity snapshot: an object with an id; its JSON text goes to *json and *sp. */
static bool entity(json_t *data, const struct json_span *dtext, const char *key, struct arena *a,
                   uint64_t *id, const char **json, json_t **obj, struct json_span *sp,
                   struct err *err)
{
    json_t *v = json_object_get(data, key);
    if (!json_is_object(v)) {
        err_set(err, ERR_INVALID, "data: \"%s\" missing or not an object", key);
        return false;
    }
    json_t *idv = json_object_get(v, "id");
    if (!json_is_string(idv) || !id_parse(json_string_value(idv), id) || !*id) {
        err_set(err, ERR_INVALID, "data: \"%s.id\" missing or not an id", key);
        return false;
    }
    struct json_span own;
    *json = snapshot(v, dtext, key, a, sp ? sp : &own);
    if (obj)
        *obj = v;
    return true;
}

/* The status snapshot: id, visibility and the author's id (status.account.id). */
static bool status(json_t *data, const struct json_span *dtext, struct arena *a,
                   struct domain_event *out, struct json_span *sp, struct err *err)
{
    json_t *s;
    if (!entity(data, dtext, "status", a, &out->status_id, &out->status_json, &s, sp, err))
        return false;
    json_t *vis = json_object_get(s, "visibility");
    if (!json_is_string(vis) || !visibility_parse(json_string_value(vis), &out->visibility)) {
        err_set(err, ERR_INVALID, "data: status.visibility missing or unknown");
        return false;
    }
    json_t *acct = json_object_get(s, "account");
    if (!json_is_object(acct) || !id_field(acct, "id", &out->status_account_id, err)) {
        err_set(err, ERR_INVALID, "data: status.account.id missing or not an id");
        return false;
    }
    return true;
}

/* The string at key of obj in the arena, or NULL. */
static const char *str(json_t *obj, const char *key, struct arena *a)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? arena_strdup(a, json_string_value(v)) : NULL;
}

/* Mastodon's status HTML (content) as plain text for a mail: paragraphs and <br> as line
 * breaks, other tags dropped, the entities the renderer writes unescaped. */
static const char *html_text(const char *html, struct arena *a)
{
    static const struct {
        const char *entity, *ch;
    } ents[] = {{"&amp;", "&"},   {"&lt;", "<"},  {"&gt;", ">"},
                {"&quot;", "\""}, {"&#39;", "'"}, {"&apos;", "'"}};
    size_t n = strlen(html);
    char *out = arena_alloc(a, n + 1), *o = out;
    for (const char *p = html; *p;) {
        if (*p == '<') {
            const char *end = strchr(p, '>');
            if (!end)
                break;
            if (strncmp(p, "<br", 3) == 0 || (strncmp(p, "<p>", 3) == 0 && o > out))
                *o++ = '\n';
            if (strncmp(p, "<p>", 3) == 0 && o > out + 1)
                *o++ = '\n';
            p = end + 1;
            continue;
        }
        size_t i = 0;
        if (*p == '&')
            while (i < sizeof(ents) / sizeof(ents[0]) &&
                   strncmp(p, ents[i].entity, strlen(ents[i].entity)) != 0)
                i++;
        if (*p == '&' && i < sizeof(ents) / sizeof(ents[0])) {
            *o++ = ents[i].ch[0];
            p += strlen(ents[i].entity);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* What a mail needs from the actor's account snapshot. */
static void mail_actor(json_t *acct, struct arena *a, struct domain_event *out)
{
    out->mail.actor_username = str(acct, "username", a);
    out->mail.actor_display_name = str(acct, "display_name", a);
    out->mail.actor_url = str(acct, "url", a);
}

/* ... and from the status snapshot. */
static void mail_status(json_t *data, struct arena *a, struct domain_event *out)
{
    json_t *s = json_object_get(data, "status");
    const char *content = str(s, "content", a);
    out->mail.status_text = content ? html_text(content, a) : NULL;
    out->mail.status_url = str(s, "url", a);
}

/* mentioned_account_ids: an array of ids (an empty one when absent and optional). */
static bool mentions(json_t *data, struct arena *a, struct domain_event *out, struct err *err)
{
    json_t *m = json_object_get(data, "mentioned_account_ids");
    if (!m && out->kind == DOMAIN_STATUS_DELETED)
        return true; /* status.deleted had no mentions at first (docs/events.md) */
    if (!json_is_array(m) || json_array_size(m) > 10000) {
        err_set(err, ERR_INVALID, "data: mentioned_account_ids missing or not an array");
        return false;
    }
    uint64_t *ids = arena_calloc(a, json_array_size(m) + 1, sizeof(*ids));
    for (size_t i = 0; i < json_array_size(m); i++) {
        json_t *v = json_array_get(m, i);
        if (!json_is_string(v) || !id_parse(json_string_value(v), &ids[i]) || !ids[i]) {
            err_set(err, ERR_INVALID, "data: mentioned_account_ids[%zu] is not an id", i);
            return false;
        }
    }
    out->mentions = ids;
    out->nmentions = json_array_size(m);
    return true;
}

static bool status_created(json_t *data, const struct json_span *dtext, struct arena *a,
                           struct domain_event *out, struct err *err)
{
    struct json_span st, acct_text;
    if (!status(data, dtext, a, out, &st, err))
        return false;
    out->actor_id = out->status_account_id;
    json_t *acct = json_object_get(json_object_get(data, "status"), "account");
    out->actor_json = snapshot(acct, &st, "account", a, &acct_text);
    mail_actor(acct, a, out);
    mail_status(data, a, out);
    if (!mentions(data, a, out, err))
        return false;
    json_t *r = json_object_get(data, "in_reply_to_account_id");
    if (r && !json_is_null(r) &&
        !id_field(data, "in_reply_to_account_id", &out->in_reply_to_account_id, err))
        return false;
    return true;
}

/* Decodes e's data d (parsed; its text is e->data) into out. */
static int decode_data(const struct event *e, json_t *d, enum domain_event_kind kind,
                       struct arena *a, struct domain_event *out, struct err *err)
{
    const struct json_span dt = {e->data, strlen(e->data)}, *dtext = &dt;
    out->id = e->id;
    out->occurred_at_ms = e->occurred_at;
    out->kind = kind;
    bool ok = false;
    switch (kind) {
    case DOMAIN_ACCOUNT_CREATED:
    case DOMAIN_ACCOUNT_UPDATED:
    case DOMAIN_PASSWORD_RESET_REQUESTED: {
        json_t *acct;
        ok = entity(d, dtext, "account", a, &out->actor_id, &out->actor_json, &acct, NULL, err);
        if (ok) {
            mail_actor(acct, a, out);
            out->mail.email = str(d, "email", a);
            out->mail.locale = str(d, "locale", a);
            out->mail.token = str(
                d, kind == DOMAIN_PASSWORD_RESET_REQUESTED ? "reset_token" : "confirmation_token",
                a);
        }
        if (ok && kind == DOMAIN_PASSWORD_RESET_REQUESTED && (!out->mail.email || !out->mail.token))
            ok = !err_set(err, ERR_INVALID, "data: \"email\" or \"reset_token\" missing");
        break;
    }
    case DOMAIN_TOKEN_REVOKED: {
        json_t *acct = json_object_get(d, "account_id");
        ok = id_field(d, "jti", &out->jti, err);
        if (ok && json_is_string(acct) && !id_parse(json_string_value(acct), &out->actor_id))
            ok = !err_set(err, ERR_INVALID, "data: \"account_id\" is not an id");
        break;
    }
    case DOMAIN_STATUS_CREATED:
        ok = status_created(d, dtext, a, out, err);
        break;
    case DOMAIN_TOKENS_REVOKED:
        ok = id_field(d, "account_id", &out->actor_id, err) &&
             id_field(d, "revoked_below_jti", &out->jti, err);
        break;
    case DOMAIN_STATUS_DELETED: {
        /* visibility and mentions decide who is told (streaming); an event without the
         * visibility reaches the author only. */
        json_t *v = json_object_get(d, "visibility");
        ok = id_field(d, "status_id", &out->status_id, err) &&
             id_field(d, "account_id", &out->actor_id, err) && mentions(d, a, out, err);
        if (ok && v &&
            !(json_is_string(v) && visibility_parse(json_string_value(v), &out->visibility)))
            ok = !err_set(err, ERR_INVALID, "data: \"visibility\" is not a visibility");
        break;
    }
    case DOMAIN_FAVOURITE_CREATED: {
        json_t *acct;
        ok = entity(d, dtext, "account", a, &out->actor_id, &out->actor_json, &acct, NULL, err) &&
             status(d, dtext, a, out, NULL, err);
        if (ok) {
            mail_actor(acct, a, out);
            mail_status(d, a, out);
        }
        break;
    }
    case DOMAIN_FAVOURITE_DELETED:
        ok = id_field(d, "account_id", &out->actor_id, err) &&
             id_field(d, "status_id", &out->status_id, err) &&
             id_field(d, "status_account_id", &out->status_account_id, err);
        break;
    case DOMAIN_FOLLOW_CREATED:
    case DOMAIN_FOLLOW_REQUEST_CREATED: {
        json_t *acct;
        ok = entity(d, dtext, "account", a, &out->actor_id, &out->actor_json, &acct, NULL, err) &&
             entity(d, dtext, "target", a, &out->target_id, &out->target_json, NULL, NULL, err);
        if (ok)
            mail_actor(acct, a, out);
        break;
    }
    case DOMAIN_FOLLOW_DELETED:
        ok = id_field(d, "account_id", &out->actor_id, err) &&
             id_field(d, "target_account_id", &out->target_id, err);
        break;
    case DOMAIN_FOLLOW_REQUEST_DELETED: {
        json_t *acc = json_object_get(d, "accepted");
        ok = id_field(d, "account_id", &out->actor_id, err) &&
             id_field(d, "target_account_id", &out->target_id, err);
        if (ok && !json_is_boolean(acc))
            ok = !err_set(err, ERR_INVALID, "data: \"accepted\" missing or not a boolean");
        out->accepted = json_is_true(acc);
        break;
    }
    }
    if (!ok) {
        memset(out, 0, sizeof(*out));
        return ERR_INVALID;
    }
    return 0;
}

static int decode(void *ctx, const struct event *e, struct arena *a, struct domain_event *out,
                  struct err *err)
{
    (void)ctx;
    memset(out, 0, sizeof(*out));
    enum domain_event_kind kind;
    if (!domain_event_kind_parse(e->type, e->version, &kind))
        return err_set(err, ERR_NOT_FOUND, "unknown event type %s version %d", e->type, e->version);
    json_t *d = json_loads(e->data, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(d)) {
        json_decref(d);
        return err_set(err, ERR_INVALID, "data: not a JSON object");
    }
    int rc = decode_data(e, d, kind, a, out, err);
    json_decref(d);
    return rc;
}

static int parse(void *ctx, const char *text, size_t len, struct arena *a, struct event *e,
                 struct domain_event *out, struct err *err)
{
    (void)ctx;
    memset(out, 0, sizeof(*out));
    json_t *d;
    int rc = event_parse_json(text, len, a, e, &d, err);
    if (rc)
        return rc;
    enum domain_event_kind kind;
    if (!domain_event_kind_parse(e->type, e->version, &kind))
        rc = err_set(err, ERR_NOT_FOUND, "unknown event type %s version %d", e->type, e->version);
    else
        rc = decode_data(e, d, kind, a, out, err);
    json_decref(d);
    return rc;
}

static const struct event_decoder_ops ops = {decode, parse};

struct event_decoder event_decoder_json(void)
{
    return (struct event_decoder){&ops, NULL};
}
