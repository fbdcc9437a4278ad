/* event.c - envelope encoding and strict decoding with jansson. */
#include "lib/events/event.h"

#include "lib/base/clock.h"
#include "lib/base/id.h"
#include "lib/base/json_span.h"
#include "lib/base/xalloc.h"

#include <jansson.h>
#include <string.h>

bool event_type_valid(const char *t)
{
    size_t n = strlen(t);
    int dots = 0;
    if (n == 0 || n >= EVENT_TYPE_MAX || t[0] == '.' || t[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (c == '.') {
            if (t[i + 1] == '.')
                return false;
            dots++;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return dots >= 1;
}

void event_format(const struct event *e, struct buf *out)
{
    char id[ID_STR_LEN], at[CLOCK_ISO_LEN];
    json_error_t jerr;
    json_t *data = json_loads(e->data, JSON_REJECT_DUPLICATES, &jerr);
    ASSERT(json_is_object(data));
    id_format(e->id, id);
    clock_format_iso(e->occurred_at, at);
    json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:o}", "id", id, "type", e->type,
                          "version", e->version, "occurred_at", at, "producer", e->producer, "key",
                          e->key, "data", data);
    ASSERT(j);
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    buf_append_str(out, text);
    free(text);
}

static const char *string_field(json_t *obj, const char *name, size_t max, struct arena *a,
                                struct err *err)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v))
        return err_set(err, ERR_INVALID, "event: \"%s\" missing or not a string", name), NULL;
    size_t n = json_string_length(v);
    if (n == 0 || n >= max || strlen(json_string_value(v)) != n)
        return err_set(err, ERR_INVALID, "event: \"%s\" empty, too long or with NUL", name), NULL;
    return arena_strndup(a, json_string_value(v), n);
}

/* The text of data: its bytes in the envelope, found by json_span over the text jansson has
 * just accepted; serialised again only for a "data" name written with escapes. */
static const char *data_text(const char *text, size_t len, json_t *data, struct arena *a, size_t *n)
{
    struct json_span sp;
    if (json_span_member(text, len, "data", &sp)) {
        *n = sp.len;
        return sp.len <= EVENT_DATA_MAX ? arena_strndup(a, sp.p, sp.len) : NULL;
    }
    char *d = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    *n = strlen(d);
    const char *copy = *n <= EVENT_DATA_MAX ? arena_strndup(a, d, *n) : NULL;
    free(d);
    return copy;
}

int event_parse(const char *text, size_t len, struct arena *a, struct event *out, struct err *err)
{
    return event_parse_json(text, len, a, out, NULL, err);
}

int event_parse_json(const char *text, size_t len, struct arena *a, struct event *out,
                     json_t **data_out, struct err *err)
{
    json_error_t jerr;
    memset(out, 0, sizeof(*out));
    if (data_out)
        *data_out = NULL;
    if (len > EVENT_DATA_MAX + 4096)
        return err_set(err, ERR_INVALID, "event: %zu bytes is too large", len);
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        return err_set(err, ERR_INVALID, "event: not a JSON object (%s)", j ? "" : jerr.text);
    }
    int rc = 0;
    const char *id = string_field(j, "id", ID_STR_LEN, a, err);
    const char *type = id ? string_field(j, "type", EVENT_TYPE_MAX, a, err) : NULL;
    const char *at = type ? string_field(j, "occurred_at", 40, a, err) : NULL;
    const char *producer = at ? string_field(j, "producer", EVENT_PRODUCER_MAX, a, err) : NULL;
    const char *key = producer ? string_field(j, "key", EVENT_KEY_MAX, a, err) : NULL;
    json_t *version = json_object_get(j, "version");
    json_t *data = json_object_get(j, "data");
    if (!key) {
        rc = ERR_INVALID;
    } else if (!id_parse(id, &out->id) || out->id == 0) {
        rc = err_set(err, ERR_INVALID, "event: id \"%s\" is not a positive decimal id", id);
    } else if (!event_type_valid(type)) {
        rc = err_set(err, ERR_INVALID, "event: type \"%s\" is malformed", type);
    } else if (!json_is_integer(version) || json_integer_value(version) < 1 ||
               json_integer_value(version) > 1000) {
        rc = err_set(err, ERR_INVALID, "event: version missing or out of range");
    } else if (!clock_parse_iso(at, &out->occurred_at)) {
        rc = err_set(err, ERR_INVALID, "event: occurred_at \"%s\" is not RFC 3339", at);
    } else if (!json_is_object(data)) {
        rc = err_set(err, ERR_INVALID, "event: data missing or not an object");
    } else {
        size_t n;
        out->data = data_text(text, len, data, a, &n);
        if (!out->data) {
            rc = err_set(err, ERR_INVALID, "event: data too large");
        } else {
            out->type = type;
            out->producer = producer;
            out->key = key;
            out->version = (int)json_integer_value(version);
            if (data_out)
                *data_out = json_incref(data);
        }
    }
    json_decref(j);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}
