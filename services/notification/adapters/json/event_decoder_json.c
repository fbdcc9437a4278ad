/* event_decoder_json.c - the event_decoder port on jansson: reads each type's data as
 * docs/events.md describes it and refuses anything else. */
#include "services/notification/adapters/json/event_decoder_json.h"

#include "lib/base/id.h"

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

/* A Mastodon entity snapshot: an object with an id; its compact JSON goes to *json. */
static bool entity(json_t *data, const char *key, struct arena *a, uint64_t *id, const char **json,
                   json_t **obj, struct err *err)
{
    json_t *v = json_object_get(data, key);
    if (!json_is_object(v)) {
        err_set(err, ERR_INVALID, "data: \"%s\" missing or not an object", key);
        return false;
    }
    char what[64];
    snprintf(what, sizeof(what), "%s.id", key);
    json_t *idv = json_object_get(v, "id");
    if (!json_is_string(idv) || !id_parse(json_string_value(idv), id) || !*id) {
        err_set(err, ERR_INVALID, "data: \"%s\" missing or not an id", what);
        return false;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    *json = arena_strdup(a, text);
    free(text);
    if (obj)
        *obj = v;
    return true;
}

/* The status snapshot: id, visibility and the author's id (status.account.id). */
static bool status(json_t *data, struct arena *a, struct domain_event *out, struct err *err)
{
    json_t *s;
    if (!entity(data, "status", a, &out->status_id, &out->status_json, &s, err))
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

static bool status_created(json_t *data, struct arena *a, struct domain_event *out, struct err *err)
{
    if (!status(data, a, out, err))
        return false;
    out->actor_id = out->status_account_id;
    json_t *acct = json_object_get(json_object_get(data, "status"), "account");
    char *text = json_dumps(acct, JSON_COMPACT | JSON_PRESERVE_ORDER);
    out->actor_json = arena_strdup(a, text);
    free(text);
    if (!mentions(data, a, out, err))
        return false;
    json_t *r = json_object_get(data, "in_reply_to_account_id");
    if (r && !json_is_null(r) &&
        !id_field(data, "in_reply_to_account_id", &out->in_reply_to_account_id, err))
        return false;
    return true;
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
    out->id = e->id;
    out->occurred_at_ms = e->occurred_at;
    out->kind = kind;
    bool ok = false;
    switch (kind) {
    case DOMAIN_ACCOUNT_CREATED:
    case DOMAIN_ACCOUNT_UPDATED:
        ok = entity(d, "account", a, &out->actor_id, &out->actor_json, NULL, err);
        break;
    case DOMAIN_TOKEN_REVOKED: {
        json_t *acct = json_object_get(d, "account_id");
        ok = id_field(d, "jti", &out->jti, err);
        if (ok && json_is_string(acct) && !id_parse(json_string_value(acct), &out->actor_id))
            ok = !err_set(err, ERR_INVALID, "data: \"account_id\" is not an id");
        break;
    }
    case DOMAIN_STATUS_CREATED:
        ok = status_created(d, a, out, err);
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
    case DOMAIN_FAVOURITE_CREATED:
        ok = entity(d, "account", a, &out->actor_id, &out->actor_json, NULL, err) &&
             status(d, a, out, err);
        break;
    case DOMAIN_FAVOURITE_DELETED:
        ok = id_field(d, "account_id", &out->actor_id, err) &&
             id_field(d, "status_id", &out->status_id, err) &&
             id_field(d, "status_account_id", &out->status_account_id, err);
        break;
    case DOMAIN_FOLLOW_CREATED:
    case DOMAIN_FOLLOW_REQUEST_CREATED:
        ok = entity(d, "account", a, &out->actor_id, &out->actor_json, NULL, err) &&
             entity(d, "target", a, &out->target_id, &out->target_json, NULL, err);
        break;
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
    json_decref(d);
    if (!ok) {
        memset(out, 0, sizeof(*out));
        return ERR_INVALID;
    }
    return 0;
}

static const struct event_decoder_ops ops = {decode};

struct event_decoder event_decoder_json(void)
{
    return (struct event_decoder){&ops, NULL};
}
