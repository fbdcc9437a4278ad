/* validation.h - field errors in the shape Mastodon reports them (422 with
 * {"error": "Validation failed: ...", "details": {"field": [{"error": "ERR_TAKEN", ...}]}}). */
#ifndef SERVICES_THREADLY_DOMAIN_VALIDATION_H
#define SERVICES_THREADLY_DOMAIN_VALIDATION_H

#include <stdbool.h>
#include <stddef.h>

#define VALIDATION_MAX 8

struct validation_item {
    const char *field;       /* "username" */
    const char *code;        /* "ERR_TAKEN" */
    const char *description; /* "is already taken" (static text) */
};

struct validation {
    size_t n;
    struct validation_item items[VALIDATION_MAX];
};

void validation_add(struct validation *v, const char *field, const char *code,
                    const char *description);
static inline bool validation_ok(const struct validation *v)
{
    return v->n == 0;
}

#endif
