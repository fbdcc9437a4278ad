/* mail_codec.c - mail.requested and mail.failed on jansson (parsing) and jsonw (writing). */
#include "services/notification/adapters/kafka/mail_codec.h"

#include "lib/base/id.h"
#include "lib/base/jsonw.h"
#include "lib/base/xalloc.h"
#include "lib/events/event.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX (16 * 1024) /* status text and the like */
#define GARBAGE_MAX (32 * 1024)

static void envelope(const char *type, uint64_t id, int64_t now_ms, const char *key,
                     const struct buf *data, struct buf *out)
{
    struct event e = {.id = id,
                      .type = type,
                      .version = 1,
                      .occurred_at = now_ms,
                      .producer = MAIL_CODEC_PRODUCER,
                      .key = key,
                      .data = data->data};
    event_format(&e, out);
}

/* A string field, or nothing when s is NULL. */
static void opt_str(struct jsonw *w, const char *key, const char *s)
{
    if (s)
        jsonw_field_str(w, key, s);
}

void mail_codec_format_request(const struct mail_event *m, uint64_t id, int64_t now_ms,
                               struct buf *out, char *key)
{
    struct buf data = BUF_INIT;
    struct jsonw w;
    id_format(m->recipient_id, key);
    jsonw_init(&w, &data);
    jsonw_object_begin(&w);
    jsonw_field_id(&w, "event_id", m->event_id);
    jsonw_field_id(&w, "recipient_id", m->recipient_id);
    jsonw_field_str(&w, "kind", mail_kind_name(m->kind));
    opt_str(&w, "email", m->email);
    opt_str(&w, "username", m->username);
    opt_str(&w, "token", m->token);
    opt_str(&w, "actor_name", m->actor_name);
    opt_str(&w, "actor_acct", m->actor_acct);
    opt_str(&w, "actor_url", m->actor_url);
    opt_str(&w, "status_text", m->status_text);
    opt_str(&w, "status_url", m->status_url);
    jsonw_object_end(&w);
    envelope(MAIL_CODEC_REQUESTED, id, now_ms, key, &data, out);
    buf_release(&data);
}

static bool id_of(json_t *data, const char *name, uint64_t *out, struct err *err)
{
    json_t *v = json_object_get(data, name);
    if (json_is_string(v) && id_parse(json_string_value(v), out) && *out)
        return true;
    err_set(err, ERR_INVALID, "data: \"%s\" missing or not an id", name);
    return false;
}

/* An optional string (absent or null: NULL), at most max bytes, without NUL. */
static bool str_of(json_t *data, const char *name, size_t max, bool required, struct arena *a,
                   const char **out, struct err *err)
{
    json_t *v = json_object_get(data, name);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required)
            return true;
        err_set(err, ERR_INVALID, "data: \"%s\" missing", name);
        return false;
    }
    if (!json_is_string(v)) {
        err_set(err, ERR_INVALID, "data: \"%s\" is not a string", name);
        return false;
    }
    size_t n = json_string_length(v);
    if (n > max || memchr(json_string_value(v), '\0', n)) {
        err_set(err, ERR_INVALID, "data: \"%s\" longer than %zu bytes or holds NUL", name, max);
        return false;
    }
    if (required && n == 0) {
        err_set(err, ERR_INVALID, "data: \"%s\" is empty", name);
        return false;
    }
    *out = arena_strndup(a, json_string_value(v), n);
    return true;
}

static int parse_data(json_t *d, struct arena *a, struct mail_event *out, struct err *err)
{
    json_t *kind = json_object_get(d, "kind");
    if (!id_of(d, "event_id", &out->event_id, err) ||
        !id_of(d, "recipient_id", &out->recipient_id, err))
        return ERR_INVALID;
    if (!json_is_string(kind) || !mail_kind_parse(json_string_value(kind), &out->kind) ||
        out->kind == MAIL_DIGEST)
        return err_set(err, ERR_INVALID, "data: \"kind\" missing or unknown");
    bool transactional = !mail_kind_is_notification(out->kind);
    if (!str_of(d, "email", 320, transactional, a, &out->email, err) ||
        !str_of(d, "username", 256, transactional, a, &out->username, err) ||
        !str_of(d, "token", 256, transactional, a, &out->token, err) ||
        !str_of(d, "actor_name", 1024, false, a, &out->actor_name, err) ||
        !str_of(d, "actor_acct", 1024, !transactional, a, &out->actor_acct, err) ||
        !str_of(d, "actor_url", 2048, false, a, &out->actor_url, err) ||
        !str_of(d, "status_text", FIELD_MAX, false, a, &out->status_text, err) ||
        !str_of(d, "status_url", 2048, false, a, &out->status_url, err))
        return ERR_INVALID;
    /* The outbox composes with "" for what a notification mail leaves out. */
    if (!transactional) {
        out->actor_url = out->actor_url ? out->actor_url : "";
        out->status_text = out->status_text ? out->status_text : "";
        out->status_url = out->status_url ? out->status_url : "";
    }
    return 0;
}

int mail_codec_parse_request(const char *text, size_t len, const char *key, struct arena *a,
                             struct mail_event *out, struct err *err)
{
    struct event e;
    memset(out, 0, sizeof(*out));
    if (event_parse(text, len, a, &e, err) != 0)
        return ERR_INVALID;
    if (strcmp(e.type, MAIL_CODEC_REQUESTED) != 0)
        return err_set(err, ERR_INVALID, "type %s is not %s", e.type, MAIL_CODEC_REQUESTED);
    if (e.version != 1)
        return err_set(err, ERR_INVALID, "%s version %d is not known (1)", e.type, e.version);
    json_error_t je;
    json_t *d = json_loads(e.data, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(d)) {
        json_decref(d);
        return err_set(err, ERR_INVALID, "data: %s", je.text);
    }
    int rc = parse_data(d, a, out, err);
    json_decref(d);
    if (rc)
        return rc;
    uint64_t k;
    if (key && !(id_parse(key, &k) && k == out->recipient_id))
        return err_set(err, ERR_INVALID, "message key is not the recipient_id");
    if (strcmp(e.key, key ? key : e.key) != 0)
        return err_set(err, ERR_INVALID, "envelope key is not the message key");
    return 0;
}

void mail_codec_format_dead(const struct mail_job *job, const char *reason, uint64_t id,
                            int64_t now_ms, struct buf *out, char *key)
{
    struct buf data = BUF_INIT;
    struct jsonw w;
    id_format(job->recipient_id, key);
    jsonw_init(&w, &data);
    jsonw_object_begin(&w);
    jsonw_field_id(&w, "mail_id", job->id);
    jsonw_field_id(&w, "event_id", job->event_id);
    jsonw_field_id(&w, "recipient_id", job->recipient_id);
    jsonw_field_str(&w, "kind", job->kind);
    jsonw_field_str(&w, "to", job->to);
    jsonw_field_int(&w, "attempts", job->attempts);
    jsonw_field_str(&w, "reason", reason);
    jsonw_object_end(&w);
    envelope(MAIL_CODEC_FAILED, id, now_ms, key, &data, out);
    buf_release(&data);
}

void mail_codec_format_garbage(const char *reason, const char *topic, int32_t partition,
                               int64_t offset, const char *msg_key, const char *value,
                               size_t value_len, uint64_t id, int64_t now_ms, struct buf *out)
{
    struct buf data = BUF_INIT;
    struct jsonw w;
    char key[EVENT_KEY_MAX + 1];
    /* The envelope's key must be a short plain string; an odd message key becomes "0". */
    size_t kn = msg_key ? strlen(msg_key) : 0;
    bool plain = kn > 0 && kn <= EVENT_KEY_MAX;
    for (size_t i = 0; plain && i < kn; i++)
        plain = msg_key[i] > 0x20 && msg_key[i] < 0x7f;
    snprintf(key, sizeof(key), "%s", plain ? msg_key : "0");
    jsonw_init(&w, &data);
    jsonw_object_begin(&w);
    jsonw_field_str(&w, "reason", reason);
    jsonw_key(&w, "source");
    jsonw_object_begin(&w);
    jsonw_field_str(&w, "topic", topic);
    jsonw_field_int(&w, "partition", partition);
    jsonw_field_int(&w, "offset", offset);
    if (msg_key)
        jsonw_field_str(&w, "key", msg_key);
    else
        jsonw_field_null(&w, "key");
    jsonw_object_end(&w);
    jsonw_key(&w, "value");
    if (value) {
        /* NUL is no character a JSON parser takes back: '?' instead. */
        size_t n = value_len > GARBAGE_MAX ? GARBAGE_MAX : value_len;
        char *copy = xmalloc(n + 1);
        for (size_t i = 0; i < n; i++)
            copy[i] = value[i] ? value[i] : '?';
        jsonw_strn(&w, copy, n);
        free(copy);
    } else {
        jsonw_null(&w);
    }
    jsonw_object_end(&w);
    envelope(MAIL_CODEC_FAILED, id, now_ms, key, &data, out);
    buf_release(&data);
}
