/* event_decoder_json.c - the event_decoder port: reads each type's data as docs/events.md
 * describes it and refuses anything else. The text is checked once (event_parse, or
 * json_span_valid for decode) and read in place with json_span: only the fields used are
 * decoded, and the snapshots kept (account, status) are the bytes they arrived in. */
#include "services/notification/adapters/json/event_decoder_json.h"

#include "lib/base/id.h"
#include "lib/base/json_span.h"

#include <string.h>

static struct json_span get(struct json_span obj, const char *key)
{
    return json_span_get(obj, key);
}

static bool is(struct json_span v, enum json_span_type t)
{
    return json_span_type(v) == t;
}

/* A string that is an id: digits, not 0. */
static bool id_value(struct json_span v, uint64_t *out)
{
    char buf[32];
    if (!is(v, JSON_SPAN_STRING))
        return false;
    if (v.len - 2 < sizeof(buf) && !memchr(v.p, '\\', v.len)) {
        memcpy(buf, v.p + 1, v.len - 2);
        buf[v.len - 2] = '\0';
        return id_parse(buf, out) && *out;
    }
    struct arena a; /* written with escapes: decoded first, as jansson did */
    arena_init(&a, 0);
    bool ok = id_parse(json_span_string(v, &a), out) && *out;
    arena_release(&a);
    return ok;
}

/* An id field: a string of digits, not 0. */
static bool id_field(struct json_span obj, const char *key, uint64_t *out, struct err *err)
{
    if (id_value(get(obj, key), out))
        return true;
    err_set(err, ERR_INVALID, "data: \"%s\" missing or not an id", key);
    return false;
}

/* The members of the snapshots the decoder reads, each object read in one pass. */
enum { A_ID, A_USERNAME, A_DISPLAY_NAME, A_URL, A_N };
static const char *const account_keys[A_N] = {"id", "username", "display_name", "url"};
enum { S_ID, S_VISIBILITY, S_ACCOUNT, S_CONTENT, S_URL, S_N };
static const char *const status_keys[S_N] = {"id", "visibility", "account", "content", "url"};

/* A Mastodon entity snapshot v (member `key` of data): an object with an id (keys[0]), whose
 * members keys[0..n) go to m; its text, as it arrived, goes to *json. */
static bool entity(struct json_span v, const char *key, const char *const *keys, size_t n,
                   struct json_span *m, struct arena *a, uint64_t *id, const char **json,
                   struct err *err)
{
    if (!is(v, JSON_SPAN_OBJECT)) {
        err_set(err, ERR_INVALID, "data: \"%s\" missing or not an object", key);
        return false;
    }
    json_span_members(v, keys, n, m);
    if (!id_value(m[0], id)) {
        err_set(err, ERR_INVALID, "data: \"%s.id\" missing or not an id", key);
        return false;
    }
    *json = arena_strndup(a, v.p, v.len);
    return true;
}

/* An account snapshot, member key of data: its id to *id, its text to *json, its members
 * (account_keys) to m. */
static bool account(struct json_span data, const char *key, struct arena *a, uint64_t *id,
                    const char **json, struct json_span *m, struct err *err)
{
    return entity(get(data, key), key, account_keys, A_N, m, a, id, json, err);
}

/* The status snapshot v: id, visibility and the author's id (status.account.id); its members
 * (status_keys) to m. */
static bool status(struct json_span v, struct arena *a, struct domain_event *out,
                   struct json_span *m, struct err *err)
{
    if (!entity(v, "status", status_keys, S_N, m, a, &out->status_id, &out->status_json, err))
        return false;
    const char *vis = json_span_string(m[S_VISIBILITY], a);
    if (!vis || !visibility_parse(vis, &out->visibility)) {
        err_set(err, ERR_INVALID, "data: status.visibility missing or unknown");
        return false;
    }
    if (!is(m[S_ACCOUNT], JSON_SPAN_OBJECT) ||
        !id_field(m[S_ACCOUNT], "id", &out->status_account_id, err)) {
        err_set(err, ERR_INVALID, "data: status.account.id missing or not an id");
        return false;
    }
    return true;
}

/* The string at key of obj in the arena, or NULL. */
static const char *str(struct json_span obj, const char *key, struct arena *a)
{
    return json_span_string(get(obj, key), a);
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

/* What a mail needs from the actor's account snapshot (its members m, account_keys). */
static void mail_actor(const struct json_span *m, struct arena *a, struct domain_event *out)
{
    out->mail.actor_username = json_span_string(m[A_USERNAME], a);
    out->mail.actor_display_name = json_span_string(m[A_DISPLAY_NAME], a);
    out->mail.actor_url = json_span_string(m[A_URL], a);
}

/* ... and from the status snapshot (its members m, status_keys). */
static void mail_status(const struct json_span *m, struct arena *a, struct domain_event *out)
{
    const char *content = json_span_string(m[S_CONTENT], a);
    out->mail.status_text = content ? html_text(content, a) : NULL;
    out->mail.status_url = json_span_string(m[S_URL], a);
}

/* mentioned_account_ids: an array of ids (an empty one when absent and optional). */
static bool mentions(struct json_span data, struct arena *a, struct domain_event *out,
                     struct err *err)
{
    struct json_span m = get(data, "mentioned_account_ids"), it = {0};
    if (is(m, JSON_SPAN_NONE) && out->kind == DOMAIN_STATUS_DELETED)
        return true; /* status.deleted had no mentions at first (docs/events.md) */
    size_t n = 0;
    while (n <= 10000 && json_span_next(m, &it))
        n++;
    if (!is(m, JSON_SPAN_ARRAY) || n > 10000) {
        err_set(err, ERR_INVALID, "data: mentioned_account_ids missing or not an array");
        return false;
    }
    uint64_t *ids = arena_calloc(a, n + 1, sizeof(*ids));
    it = (struct json_span){0};
    for (size_t i = 0; i < n && json_span_next(m, &it); i++) {
        if (!id_value(it, &ids[i])) {
            err_set(err, ERR_INVALID, "data: mentioned_account_ids[%zu] is not an id", i);
            return false;
        }
    }
    out->mentions = ids;
    out->nmentions = n;
    return true;
}

static bool status_created(struct json_span data, struct arena *a, struct domain_event *out,
                           struct err *err)
{
    struct json_span sm[S_N], am[A_N];
    if (!status(get(data, "status"), a, out, sm, err))
        return false;
    out->actor_id = out->status_account_id;
    out->actor_json = arena_strndup(a, sm[S_ACCOUNT].p, sm[S_ACCOUNT].len);
    json_span_members(sm[S_ACCOUNT], account_keys, A_N, am);
    mail_actor(am, a, out);
    mail_status(sm, a, out);
    if (!mentions(data, a, out, err))
        return false;
    struct json_span r = get(data, "in_reply_to_account_id");
    if (!is(r, JSON_SPAN_NONE) && !is(r, JSON_SPAN_NULL) &&
        !id_field(data, "in_reply_to_account_id", &out->in_reply_to_account_id, err))
        return false;
    return true;
}

/* Decodes d, the text of e's data (checked JSON), into out. */
static int decode_data(const struct event *e, struct json_span d, enum domain_event_kind kind,
                       struct arena *a, struct domain_event *out, struct err *err)
{
    out->id = e->id;
    out->occurred_at_ms = e->occurred_at;
    out->kind = kind;
    bool ok = false;
    switch (kind) {
    case DOMAIN_ACCOUNT_CREATED:
    case DOMAIN_ACCOUNT_UPDATED:
    case DOMAIN_PASSWORD_RESET_REQUESTED: {
        struct json_span am[A_N];
        ok = account(d, "account", a, &out->actor_id, &out->actor_json, am, err);
        if (ok) {
            mail_actor(am, a, out);
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
        struct json_span acct = get(d, "account_id");
        ok = id_field(d, "jti", &out->jti, err);
        if (ok && is(acct, JSON_SPAN_STRING)) {
            /* "0" (an app token) is an account id of 0 here. */
            const char *s = json_span_string(acct, a);
            if (!id_parse(s, &out->actor_id))
                ok = !err_set(err, ERR_INVALID, "data: \"account_id\" is not an id");
        }
        break;
    }
    case DOMAIN_STATUS_CREATED:
        ok = status_created(d, a, out, err);
        break;
    case DOMAIN_TOKENS_REVOKED:
        ok = id_field(d, "account_id", &out->actor_id, err) &&
             id_field(d, "revoked_below_jti", &out->jti, err);
        break;
    case DOMAIN_STATUS_DELETED: {
        /* visibility and mentions decide who is told (streaming); an event without the
         * visibility reaches the author only. */
        struct json_span v = get(d, "visibility");
        ok = id_field(d, "status_id", &out->status_id, err) &&
             id_field(d, "account_id", &out->actor_id, err) && mentions(d, a, out, err);
        if (ok && !is(v, JSON_SPAN_NONE)) {
            const char *vis = json_span_string(v, a);
            if (!vis || !visibility_parse(vis, &out->visibility))
                ok = !err_set(err, ERR_INVALID, "data: \"visibility\" is not a visibility");
        }
        break;
    }
    case DOMAIN_FAVOURITE_CREATED: {
        static const char *const keys[] = {"account", "status"};
        struct json_span dm[2], am[A_N], sm[S_N];
        json_span_members(d, keys, 2, dm);
        ok = entity(dm[0], "account", account_keys, A_N, am, a, &out->actor_id, &out->actor_json,
                    err) &&
             status(dm[1], a, out, sm, err);
        if (ok) {
            mail_actor(am, a, out);
            mail_status(sm, a, out);
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
        struct json_span am[A_N], tm[1];
        ok = account(d, "account", a, &out->actor_id, &out->actor_json, am, err) &&
             entity(get(d, "target"), "target", account_keys, 1, tm, a, &out->target_id,
                    &out->target_json, err);
        if (ok)
            mail_actor(am, a, out);
        break;
    }
    case DOMAIN_FOLLOW_DELETED:
        ok = id_field(d, "account_id", &out->actor_id, err) &&
             id_field(d, "target_account_id", &out->target_id, err);
        break;
    case DOMAIN_FOLLOW_REQUEST_DELETED: {
        struct json_span acc = get(d, "accepted");
        ok = id_field(d, "account_id", &out->actor_id, err) &&
             id_field(d, "target_account_id", &out->target_id, err);
        if (ok && !is(acc, JSON_SPAN_TRUE) && !is(acc, JSON_SPAN_FALSE))
            ok = !err_set(err, ERR_INVALID, "data: \"accepted\" missing or not a boolean");
        out->accepted = is(acc, JSON_SPAN_TRUE);
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
    struct json_span d = {e->data, strlen(e->data)};
    if (!json_span_valid(d.p, d.len, NULL) || !is(d, JSON_SPAN_OBJECT))
        return err_set(err, ERR_INVALID, "data: not a JSON object");
    return decode_data(e, d, kind, a, out, err);
}

static int parse(void *ctx, const char *text, size_t len, struct arena *a, struct event *e,
                 struct domain_event *out, struct err *err)
{
    (void)ctx;
    memset(out, 0, sizeof(*out));
    int rc = event_parse(text, len, a, e, err);
    if (rc)
        return rc;
    enum domain_event_kind kind;
    if (!domain_event_kind_parse(e->type, e->version, &kind))
        return err_set(err, ERR_NOT_FOUND, "unknown event type %s version %d", e->type, e->version);
    /* event_parse checked the whole text, data included. */
    return decode_data(e, (struct json_span){e->data, strlen(e->data)}, kind, a, out, err);
}

static const struct event_decoder_ops ops = {decode, parse};

struct event_decoder event_decoder_json(void)
{
    return (struct event_decoder){&ops, NULL};
}
