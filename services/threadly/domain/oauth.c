/* oauth.c - scope lists (mastodon/documentation api/oauth-scopes.md) and redirect URIs. */
#include "services/threadly/domain/oauth.h"

#include <string.h>

static const char *const known_scopes[] = {"read",
                                           "write",
                                           "follow",
                                           "push",
                                           "profile",
                                           "read:accounts",
                                           "read:blocks",
                                           "read:bookmarks",
                                           "read:favourites",
                                           "read:filters",
                                           "read:follows",
                                           "read:lists",
                                           "read:mutes",
                                           "read:notifications",
                                           "read:search",
                                           "read:statuses",
                                           "write:accounts",
                                           "write:blocks",
                                           "write:bookmarks",
                                           "write:conversations",
                                           "write:favourites",
                                           "write:filters",
                                           "write:follows",
                                           "write:lists",
                                           "write:media",
                                           "write:mutes",
                                           "write:notifications",
                                           "write:reports",
                                           "write:statuses",
                                           "admin:read",
                                           "admin:write"};

static bool is_sep(char c)
{
    return c == ' ' || c == '+' || c == '\t' || c == '\n';
}

/* Calls fn for each scope in list (pointer and length); stops when fn returns false. */
static bool each_scope(const char *list, bool (*fn)(const char *s, size_t n, void *arg), void *arg)
{
    const char *p = list;
    while (*p) {
        while (is_sep(*p))
            p++;
        const char *start = p;
        while (*p && !is_sep(*p))
            p++;
        if (p > start && !fn(start, (size_t)(p - start), arg))
            return false;
    }
    return true;
}

static bool known(const char *s, size_t n, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < sizeof(known_scopes) / sizeof(known_scopes[0]); i++)
        if (strlen(known_scopes[i]) == n && memcmp(known_scopes[i], s, n) == 0)
            return true;
    return false;
}

static bool count(const char *s, size_t n, void *arg)
{
    (void)s;
    (void)n;
    (*(size_t *)arg)++;
    return true;
}

bool oauth_scopes_valid(const char *scopes)
{
    size_t n = 0;
    return strlen(scopes) < OAUTH_SCOPES_MAX && each_scope(scopes, known, NULL) &&
           each_scope(scopes, count, &n) && n > 0;
}

struct norm {
    char *out;
    size_t len;
};

static bool contains(const char *list, const char *s, size_t n)
{
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, s, n) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

static bool append(const char *s, size_t n, void *arg)
{
    struct norm *nm = arg;
    if (contains(nm->out, s, n) || nm->len + n + 2 > OAUTH_SCOPES_MAX)
        return true;
    if (nm->len)
        nm->out[nm->len++] = ' ';
    memcpy(nm->out + nm->len, s, n);
    nm->len += n;
    nm->out[nm->len] = '\0';
    return true;
}

void oauth_scopes_normalise(const char *scopes, char out[OAUTH_SCOPES_MAX])
{
    struct norm nm = {out, 0};
    out[0] = '\0';
    each_scope(scopes, append, &nm);
}

/* Does one granted scope cover the needed one? */
static bool covers(const char *g, size_t gn, const char *s, size_t n)
{
    if (gn == n && memcmp(g, s, n) == 0)
        return true;
    /* "read" covers "read:x"; "follow" covers the follow-related granular scopes. */
    if (n > gn && s[gn] == ':' && memcmp(g, s, gn) == 0)
        return true;
    if (gn == 6 && memcmp(g, "follow", 6) == 0) {
        static const char *const f[] = {"read:follows", "write:follows", "read:blocks",
                                        "write:blocks", "read:mutes",    "write:mutes"};
        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
            if (strlen(f[i]) == n && memcmp(f[i], s, n) == 0)
                return true;
    }
    return false;
}

struct cover_arg {
    const char *s;
    size_t n;
    bool found;
};

static bool cover_one(const char *g, size_t gn, void *arg)
{
    struct cover_arg *c = arg;
    if (covers(g, gn, c->s, c->n)) {
        c->found = true;
        return false;
    }
    return true;
}

struct subset_arg {
    const char *allowed;
};

static bool in_allowed(const char *s, size_t n, void *arg)
{
    struct subset_arg *sa = arg;
    struct cover_arg c = {s, n, false};
    each_scope(sa->allowed, cover_one, &c);
    return c.found;
}

bool oauth_scopes_subset(const char *requested, const char *allowed)
{
    struct subset_arg sa = {allowed};
    return each_scope(requested, in_allowed, &sa);
}

bool oauth_scope_allows(const char *granted, const char *needed)
{
    struct cover_arg c = {needed, strlen(needed), false};
    each_scope(granted, cover_one, &c);
    return c.found;
}

bool oauth_redirect_uri_allowed(const struct oauth_app *app, const char *uri)
{
    size_t n = strlen(uri);
    const char *p = app->redirect_uris;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, uri, n) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}
