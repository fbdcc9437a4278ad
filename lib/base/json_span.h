/* json_span.h - reads JSON text in place: a strict check that text is JSON, then the byte
 * spans of the values a caller asks for, decoded only when it asks (strings, integers). For
 * the event consumer, which reads a few fields of each message and keeps its snapshots as the
 * bytes they arrived in; not a general JSON library (lib/ builds documents with jansson). */
#ifndef LIB_BASE_JSON_SPAN_H
#define LIB_BASE_JSON_SPAN_H

#include "lib/base/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_span {
    const char *p; /* the value's first byte, inside the text searched */
    size_t len;    /* its length: from its first to its last byte, no surrounding space */
};

enum json_span_type {
    JSON_SPAN_NONE, /* an empty span: a member that is absent */
    JSON_SPAN_OBJECT,
    JSON_SPAN_ARRAY,
    JSON_SPAN_STRING,
    JSON_SPAN_NUMBER,
    JSON_SPAN_TRUE,
    JSON_SPAN_FALSE,
    JSON_SPAN_NULL,
};

/* True if text[0..len) is one JSON object or array, with space around it allowed, that
 * jansson's json_loadb(JSON_REJECT_DUPLICATES) accepts too: RFC 8259 grammar, strings of valid
 * UTF-8 without control characters, \u0000 or unpaired surrogates, no two names of one object
 * equal once decoded, integers that fit in 64 bits, reals that do not overflow, at most 2048
 * levels of nesting. Otherwise false, with *why (if not NULL) a static reason. */
bool json_span_valid(const char *text, size_t len, const char **why);

/* The spans below assume text that json_span_valid accepted; on other text they give wrong
 * answers, but never read outside it. */

/* The value of member `key` (compared with the names once decoded) of the object in
 * text[0..len) (space around it allowed). False, and *out empty, when the member is absent or
 * the text is not an object. */
bool json_span_member(const char *text, size_t len, const char *key, struct json_span *out);
/* The same on a span: member key of object v (absent when v is not an object). */
struct json_span json_span_get(struct json_span v, const char *key);
/* Several members of object v in one pass: out[k] is member keys[k] (empty when absent).
 * Returns how many were found. */
size_t json_span_members(struct json_span v, const char *const *keys, size_t n,
                         struct json_span *out);
/* The type of v, from its first byte (JSON_SPAN_NONE when v is empty). */
enum json_span_type json_span_type(struct json_span v);
/* The next element of array v after *item (item->p NULL: the first). False at the end. */
bool json_span_next(struct json_span v, struct json_span *item);
/* String v decoded into arena a, NUL-terminated (a valid string has no NUL); NULL if v is not
 * a string. */
char *json_span_string(struct json_span v, struct arena *a);
/* Number v when it is written as an integer (no fraction, no exponent) within int64_t. */
bool json_span_int(struct json_span v, int64_t *out);

#endif
