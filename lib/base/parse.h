/* parse.h - strict parsers for values that come from outside (config, query strings, bodies).
 * Each returns false and leaves *out alone on malformed input. */
#ifndef LIB_BASE_PARSE_H
#define LIB_BASE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Accepts what Mastodon clients send: true/false in any case ("True" from toot), 1/0,
 * yes/no, on/off. */
bool parse_bool(const char *s, bool *out);
/* Decimal integer with optional sign, whole string, within [min, max]. */
bool parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
