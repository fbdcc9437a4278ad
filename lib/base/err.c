/* err.c - error buffer helpers. */
#include "lib/base/err.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(struct err *err, enum err_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

void err_clear(struct err *err)
{
    err->code = ERR_OK;
    err->msg[0] = '\0';
}

const char *err_code_name(enum err_code code)
{
    switch (code) {
    case ERR_OK:
        return "ok";
    case ERR_INVALID:
        return "invalid";
    case ERR_NOT_FOUND:
        return "not_found";
    case ERR_CONFLICT:
        return "conflict";
    case ERR_UNAVAILABLE:
        return "unavailable";
    case ERR_FORBIDDEN:
        return "forbidden";
    case ERR_INTERNAL:
        return "internal";
    }
    return "unknown";
}
