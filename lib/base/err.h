/* err.h - the small error set every layer speaks, in a caller-owned buffer.
 * Not for bugs: those are ASSERT()s (xalloc.h). msg is for logs, never for clients. */
#ifndef LIB_BASE_ERR_H
#define LIB_BASE_ERR_H

enum err_code {
    ERR_OK = 0,
    ERR_INVALID = -1,
    ERR_NOT_FOUND = -2,
    ERR_CONFLICT = -3,
    ERR_UNAVAILABLE = -4, /* transient: retry */
    ERR_FORBIDDEN = -5,
    ERR_INTERNAL = -6,
};

struct err {
    enum err_code code;
    char msg[256];
};

/* Sets err (if not NULL) to code and a printf-style message; returns code, so callers
 * can write `return err_set(err, ERR_CONFLICT, "post %llu exists", id);`. */
int err_set(struct err *err, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets err to ERR_OK with an empty message. */
void err_clear(struct err *err);

/* Stable lower-case name of a code: "invalid", "not_found", ... */
const char *err_code_name(enum err_code code);

#endif
