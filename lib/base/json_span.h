/* json_span.h - finds where a member's value lies inside JSON text that a parser has already
 * accepted, so a caller can keep the original bytes of a sub-document instead of serialising
 * the parsed value again. It does not validate: on text that is not JSON it returns false or
 * a meaningless span, but never reads outside [text, text + len). */
#ifndef LIB_BASE_JSON_SPAN_H
#define LIB_BASE_JSON_SPAN_H

#include <stdbool.h>
#include <stddef.h>

struct json_span {
    const char *p; /* the value's first byte, inside the text searched */
    size_t len;    /* its length: from its first to its last byte, no surrounding space */
};

/* The value of member `key` of the object that text[0..len) holds (space around it allowed).
 * key is compared with the member names as written, byte for byte: a name written with
 * escapes ("\u0061ccount") is not found, and the caller falls back to its parser's value.
 * With a parser that refuses duplicate names, a name found is the only one. False when the
 * member is absent or text is not an object. */
bool json_span_member(const char *text, size_t len, const char *key, struct json_span *out);

#endif
