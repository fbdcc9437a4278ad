/* event.c - envelope encoding with jansson, strict decoding with json_span. */
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

/* String member name of the envelope env, 1..max-1 bytes, in arena a; NULL (err set) if not. */
static const char *string_field(struct json_span env, const char *name, size_t max, struct arena *a,
                                struct err *err)
{
    struct json_span v = json_span_get(env, name);
    if (json_span_type(v) != JSON_SPAN_STRING)
        return err_set(err, ERR_INVALID, "event: \"%s\" missing or not a string", name), NULL;
    char *s = json_span_string(v, a);
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return err_set(err, ERR_INVALID, "event: \"%s\" empty, too long or with NUL", name), NULL;
    return s;
}

/* The envelope is read with json_span rather than jansson: the consumer parses thousands of
 * these a second, and checking the text then picking seven members out of it costs a few
 * microseconds where building jansson's document cost about 55 (bench/RESULTS.md). */
int event_parse(const char *text, size_t len, struct arena *a, struct event *out, struct err *err)
{
    const char *why = NULL;
    memset(out, 0, sizeof(*out));
    if (len > EVENT_DATA_MAX + 4096)
        return err_set(err, ERR_INVALID, "event: %zu bytes is too large", len);
    size_t lead = 0;
    while (lead < len &&
           (text[lead] == ' ' || text[lead] == '\t' || text[lead] == '\n' || text[lead] == '\r'))
        lead++;
    if (!json_span_valid(text, len, &why) || text[lead] != '{')
        return err_set(err, ERR_INVALID, "event: not a JSON object (%s)", why ? why : "an array");
    struct json_span env = {text, len};
    int rc = 0;
    const char *id = string_field(env, "id", ID_STR_LEN, a, err);
    const char *type = id ? string_field(env, "type", EVENT_TYPE_MAX, a, err) : NULL;
    const char *at = type ? string_field(env, "occurred_at", 40, a, err) : NULL;
    const char *producer = at ? string_field(env, "producer", EVENT_PRODUCER_MAX, a, err) : NULL;
    const char *key = producer ? string_field(env, "key", EVENT_KEY_MAX, a, err) : NULL;
    int64_t version = 0;
    struct json_span data = json_span_get(env, "data");
    if (!key) {
        rc = ERR_INVALID;
    } else if (!id_parse(id, &out->id) || out->id == 0) {
        rc = err_set(err, ERR_INVALID, "event: id \"%s\" is not a positive decimal id", id);
    } else if (!event_type_valid(type)) {
        rc = err_set(err, ERR_INVALID, "event: type \"%s\" is malformed", type);
    } else if (!json_span_int(json_span_get(env, "version"), &version) || version < 1 ||
               version > 1000) {
        rc = err_set(err, ERR_INVALID, "event: version missing or out of range");
    } else if (!clock_parse_iso(at, &out->occurred_at)) {
        rc = err_set(err, ERR_INVALID, "event: occurred_at \"%s\" is not RFC 3339", at);
    } else if (json_span_type(data) != JSON_SPAN_OBJECT) {
        rc = err_set(err, ERR_INVALID, "event: data missing or not an object");
    } else if (data.len > EVENT_DATA_MAX) {
        rc = err_set(err, ERR_INVALID, "event: data too large");
    } else {
        out->data = arena_strndup(a, data.p, data.len);
        out->type = type;
        out->producer = producer;
        out->key = key;
        out->version = (int)version;
    }
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}
