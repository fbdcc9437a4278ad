/* scope.c - the scope check of scope.h. */
#include "lib/auth/scope.h"

#include <string.h>

static bool is_sep(char c)
{
    return c == ' ' || c == '+' || c == '\t' || c == '\n';
}

bool auth_scope_allows(const char *granted, const char *needed)
{
    size_t n = strlen(needed);
    const char *p = granted;
    while (*p) {
        while (is_sep(*p))
            p++;
        const char *g = p;
        while (*p && !is_sep(*p))
            p++;
        size_t gn = (size_t)(p - g);
        if (gn == 0)
            continue;
        if (gn == n && memcmp(g, needed, n) == 0)
            return true;
        /* "read" covers "read:notifications". */
        if (n > gn && needed[gn] == ':' && memcmp(g, needed, gn) == 0)
            return true;
    }
    return false;
}
