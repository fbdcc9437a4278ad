/* router.c - path routing with ":name" parameters. Routes are few (tens), so matching is a
 * linear scan over pre-split patterns; a literal segment beats a parameter at the same place. */
#include "lib/base/xalloc.h"
#include "lib/http/internal.h"

#include <string.h>

void http_router_add(struct http_route **head, unsigned methods, const char *pattern,
                     http_handler_fn fn, void *ctx)
{
    struct http_route *r = xcalloc(1, sizeof(*r));
    ASSERT(pattern[0] == '/');
    r->methods = methods;
    if (methods & HTTP_GET)
        r->methods |= HTTP_HEAD;
    r->pattern = xstrdup(pattern);
    r->fn = fn;
    r->ctx = ctx;
    char *copy = r->split = xstrdup(pattern), *save = NULL;
    for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        ASSERT(r->nseg < HTTP_MAX_SEGMENTS);
        r->seg[r->nseg++] = tok;
    }
    struct http_route **p = head;
    while (*p)
        p = &(*p)->next;
    *p = r;
}

void http_router_free(struct http_route *head)
{
    while (head) {
        struct http_route *next = head->next;
        free(head->split);
        free(head->pattern);
        free(head);
        head = next;
    }
}

/* Compares specificity: >0 if a is more specific than b (literal earlier). */
static int specificity(const struct http_route *a, const struct http_route *b)
{
    for (size_t i = 0; i < a->nseg && i < b->nseg; i++) {
        bool pa = a->seg[i][0] == ':', pb = b->seg[i][0] == ':';
        if (pa != pb)
            return pa ? -1 : 1;
    }
    return 0;
}

const struct http_route *http_router_match(const struct http_route *head, struct http_req *req,
                                           unsigned *allowed)
{
    char *segs[HTTP_MAX_SEGMENTS + 1];
    size_t n = 0;
    char *path = arena_strdup(&req->arena, req->path), *save = NULL;
    for (char *tok = strtok_r(path, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (n == HTTP_MAX_SEGMENTS + 1)
            break;
        segs[n++] = tok;
    }
    *allowed = 0;
    const struct http_route *best = NULL;
    for (const struct http_route *r = head; r; r = r->next) {
        if (r->nseg != n)
            continue;
        size_t i;
        for (i = 0; i < n; i++)
            if (r->seg[i][0] != ':' && strcmp(r->seg[i], segs[i]) != 0)
                break;
        if (i < n)
            continue;
        *allowed |= r->methods;
        if (!(r->methods & req->method))
            continue;
        if (!best || specificity(r, best) > 0)
            best = r;
    }
    if (!best)
        return NULL;
    req->nparams = 0;
    for (size_t i = 0; i < n; i++) {
        if (best->seg[i][0] != ':' || req->nparams == HTTP_MAX_PARAMS)
            continue;
        req->params[req->nparams].key = best->seg[i] + 1;
        req->params[req->nparams].value = segs[i];
        req->nparams++;
    }
    return best;
}

const char *http_req_path_param(const struct http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].key, name) == 0)
            return req->params[i].value;
    return NULL;
}
