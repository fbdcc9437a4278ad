/* render.c - the Status and Relationship entities, pagination parameters and Link headers
 * (mastodon/documentation entities/Status.md, entities/Relationship.md, api/guidelines.md). */
#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/id.h"
#include "lib/base/jsonw.h"
#include "lib/base/parse.h"
#include "services/threadly/adapters/http/api.h"
#include "services/threadly/app/entities.h"

#include <inttypes.h>
#include <string.h>

static const char *const visibility_names[] = {"public", "unlisted", "private", "direct"};

static struct rendered_account *account_find(struct status_renderer *r, uint64_t id);
static void *reserve(struct arena *a, void *items, size_t n, size_t *cap, size_t more, size_t size);

void api_status_renderer_init(struct status_renderer *r, struct api *api, struct http_req *req,
                              uint64_t viewer)
{
    memset(r, 0, sizeof(*r));
    r->api = api;
    r->req = req;
    r->a = http_req_arena(req);
    r->viewer = viewer;
    buf_init(&r->out);
    jsonw_init(&r->w, &r->out);
}

void api_status_renderer_init_arena(struct status_renderer *r, struct api *api, struct arena *a)
{
    memset(r, 0, sizeof(*r));
    r->api = api;
    r->a = a;
    buf_init(&r->out);
    jsonw_init(&r->w, &r->out);
}

void api_status_renderer_know(struct status_renderer *r, uint64_t id, const struct account *acct)
{
    if (account_find(r, id))
        return;
    r->accounts =
        reserve(r->a, r->accounts, r->naccounts, &r->accounts_cap, 1, sizeof(*r->accounts));
    r->accounts[r->naccounts++] = (struct rendered_account){id, (struct account *)acct, 0, 0};
}

void api_status_renderer_release(struct status_renderer *r)
{
    buf_release(&r->out);
}

void api_status_renderer_send(struct status_renderer *r, struct http_res *res)
{
    api_send_json(res, &r->out);
}

/* The entry of account id, or NULL when it has not been fetched. */
static struct rendered_account *account_find(struct status_renderer *r, uint64_t id)
{
    for (size_t i = 0; i < r->naccounts; i++)
        if (r->accounts[i].id == id)
            return &r->accounts[i];
    return NULL;
}

/* The entry of status id, or NULL when it has not been fetched. */
static const struct rendered_favourite *favourite_find(const struct status_renderer *r, uint64_t id)
{
    for (size_t i = 0; i < r->nfavourites; i++)
        if (r->favourites[i].status_id == id)
            return &r->favourites[i];
    return NULL;
}

static bool ids_has(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* items, an arena array of n items of `size` bytes, with room for `more` others (a copy when
 * it had to grow; the old one stays in the arena until the request ends). */
static void *reserve(struct arena *a, void *items, size_t n, size_t *cap, size_t more, size_t size)
{
    if (n + more <= *cap)
        return items;
    size_t c = *cap ? *cap * 2 : 32;
    while (c < n + more)
        c *= 2;
    void *p = arena_alloc(a, c * size);
    if (n)
        memcpy(p, items, n * size);
    *cap = c;
    return p;
}

/* Fetches the authors and mentioned accounts of statuses[0..n) with one account_store_get_many,
 * and whether the viewer favourited each with at most one social_store_favourited_among,
 * leaving out what is already there: rendering a list costs at most two store calls, its
 * statuses then none; through the entity cache (app/entities.h), usually none.
 * Authors the status store read with the statuses (status.author) are taken as they are, so
 * a list without mentions costs no account read. */
static int prefetch(struct status_renderer *r, const struct status *statuses, size_t n,
                    struct err *err)
{
    struct arena *a = r->a;
    size_t want = 0, k = 0;
    int rc;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const struct account *author = statuses[i].author;
        if (author && author->id == statuses[i].account_id && !account_find(r, author->id)) {
            r->accounts =
                reserve(a, r->accounts, r->naccounts, &r->accounts_cap, 1, sizeof(*r->accounts));
            r->accounts[r->naccounts++] = (struct rendered_account){author->id, author, 0, 0};
        }
        want += 1 + statuses[i].nmentions;
    }
    uint64_t *ids = arena_alloc(a, want * sizeof(*ids));
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j <= statuses[i].nmentions; j++) {
            uint64_t id = j == 0 ? statuses[i].account_id : statuses[i].mentions[j - 1];
            if (!account_find(r, id) && !ids_has(ids, k, id))
                ids[k++] = id;
        }
    }
    if (k) {
        struct account **accts = arena_alloc(a, k * sizeof(*accts));
        rc = entities_accounts(r->api->core, ids, k, a, accts, err);
        if (rc)
            return rc;
        r->accounts =
            reserve(a, r->accounts, r->naccounts, &r->accounts_cap, k, sizeof(*r->accounts));
        for (size_t i = 0; i < k; i++)
            r->accounts[r->naccounts++] = (struct rendered_account){ids[i], accts[i], 0, 0};
    }
    if (!r->viewer)
        return 0;
    /* Whether the viewer favourited each status not seen yet (app/entities.h: from the counts
     * and the cache first). */
    struct status *todo = arena_alloc(a, n * sizeof(*todo));
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (!favourite_find(r, statuses[i].id) && !ids_has(ids, k, statuses[i].id)) {
            ids[k] = statuses[i].id;
            todo[k++] = statuses[i];
        }
    if (k) {
        bool *fav = arena_alloc(a, k * sizeof(*fav));
        rc = entities_favourited(r->api->core, r->viewer, todo, k, a, fav, err);
        if (rc)
            return rc;
        r->favourites = reserve(a, r->favourites, r->nfavourites, &r->favourites_cap, k,
                                sizeof(*r->favourites));
        for (size_t i = 0; i < k; i++)
            r->favourites[r->nfavourites++] = (struct rendered_favourite){ids[i], fav[i]};
    }
    return 0;
}

/* The author's Account entity: copied from its first rendering in this body when there is
 * one, else rendered and remembered. */
static void write_author(struct status_renderer *r, struct rendered_account *c)
{
    if (c->len) {
        jsonw_raw(&r->w, r->out.data + c->off, c->len);
        return;
    }
    /* The writer puts no comma before a value that follows a key: the entity starts here. */
    size_t off = r->out.len;
    api_account_json(&r->w, r->api, c->acct, false);
    c->off = off;
    c->len = r->out.len - off;
}

static void part(struct jsonw *w, const char *s)
{
    jsonw_str_part(w, s, strlen(s));
}

int api_status_json(struct status_renderer *r, const struct status *s, bool with_text,
                    struct err *err)
{
    struct jsonw *w = &r->w;
    const char *base = r->api->settings->base_url;
    char id[ID_STR_LEN], created[CLOCK_ISO_LEN];
    int rc = prefetch(r, s, 1, err);
    if (rc)
        return rc;
    struct rendered_account *c = account_find(r, s->account_id);
    if (!c->acct)
        return err_set(err, ERR_NOT_FOUND, "account %" PRIu64 " not found", s->account_id);
    const struct account *author = c->acct;
    const struct rendered_favourite *f = r->viewer ? favourite_find(r, s->id) : NULL;
    bool favourited = f && f->favourited;
    id_format(s->id, id);
    clock_format_iso(s->created_at_ms, created);
    jsonw_object_begin(w);
    jsonw_field_str(w, "id", id);
    jsonw_key(w, "uri");
    jsonw_str_begin(w);
    part(w, base);
    part(w, "/users/");
    part(w, author->username);
    part(w, "/statuses/");
    part(w, id);
    jsonw_str_end(w);
    jsonw_key(w, "url");
    jsonw_str_begin(w);
    part(w, base);
    part(w, "/@");
    part(w, author->username);
    part(w, "/");
    part(w, id);
    jsonw_str_end(w);
    jsonw_field_str(w, "created_at", created);
    jsonw_key(w, "account");
    write_author(r, c);
    jsonw_field_str(w, "content", s->content);
    jsonw_field_str(w, "visibility", visibility_names[s->visibility]);
    jsonw_field_bool(w, "sensitive", s->sensitive);
    jsonw_field_str(w, "spoiler_text", s->spoiler_text);
    jsonw_key(w, "media_attachments");
    jsonw_array_begin(w);
    jsonw_array_end(w);
    jsonw_key(w, "mentions");
    jsonw_array_begin(w);
    for (size_t i = 0; i < s->nmentions; i++) {
        const struct rendered_account *mc = account_find(r, s->mentions[i]);
        const struct account *m = mc ? mc->acct : NULL;
        if (!m)
            continue; /* a deleted account is simply not listed */
        jsonw_object_begin(w);
        jsonw_field_id(w, "id", m->id);
        jsonw_field_str(w, "username", m->username);
        jsonw_key(w, "url");
        api_url(w, base, "/@", m->username, NULL);
        jsonw_field_str(w, "acct", m->username);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
    jsonw_key(w, "tags");
    jsonw_array_begin(w);
    for (size_t i = 0; i < s->ntags; i++) {
        jsonw_object_begin(w);
        jsonw_field_str(w, "name", s->tags[i]);
        jsonw_key(w, "url");
        api_url(w, base, "/tags/", s->tags[i], NULL);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
    jsonw_key(w, "emojis");
    jsonw_array_begin(w);
    jsonw_array_end(w);
    jsonw_field_int(w, "reblogs_count", s->reblogs_count);
    jsonw_field_int(w, "favourites_count", s->favourites_count);
    jsonw_field_int(w, "replies_count", s->replies_count);
    jsonw_field_id_or_null(w, "in_reply_to_id", s->in_reply_to_id);
    jsonw_field_id_or_null(w, "in_reply_to_account_id", s->in_reply_to_account_id);
    jsonw_field_null(w, "reblog");
    jsonw_field_null(w, "poll");
    jsonw_field_null(w, "card");
    if (*s->language)
        jsonw_field_str(w, "language", s->language);
    else
        jsonw_field_null(w, "language");
    jsonw_field_null(w, "edited_at");
    jsonw_field_bool(w, "favourited", favourited);
    jsonw_field_bool(w, "reblogged", false);
    jsonw_field_bool(w, "muted", false);
    jsonw_field_bool(w, "bookmarked", false);
    jsonw_field_bool(w, "pinned", false);
    if (with_text)
        jsonw_field_str(w, "text", s->text);
    jsonw_object_end(w);
    return 0;
}

int api_status_list_json(struct status_renderer *r, const struct status_list *l, struct err *err)
{
    int rc = prefetch(r, l->items, l->n, err);
    if (rc)
        return rc;
    /* A rendered status with its account takes about 1.4 kB: one allocation instead of the
     * doublings (and copies) of a growing buffer. */
    buf_grow(&r->out, l->n * 1536);
    jsonw_array_begin(&r->w);
    for (size_t i = 0; i < l->n; i++) {
        rc = api_status_json(r, &l->items[i], false, err);
        if (rc)
            return rc;
    }
    jsonw_array_end(&r->w);
    return 0;
}

static bool cursor(struct http_req *req, const char *name, uint64_t *out)
{
    const char *v = http_req_arg(req, name);
    *out = 0;
    return !v || !*v || id_parse(v, out);
}

bool api_page(struct http_req *req, struct http_res *res, struct page *page, int def_limit,
              int max_limit)
{
    int64_t limit = def_limit;
    const char *l = http_req_arg(req, "limit");
    memset(page, 0, sizeof(*page));
    if (!cursor(req, "max_id", &page->max_id) || !cursor(req, "since_id", &page->since_id) ||
        !cursor(req, "min_id", &page->min_id) ||
        (l && *l && !parse_int64(l, INT64_MIN, INT64_MAX, &limit))) {
        http_res_error(res, 422,
                       "Validation failed: max_id, since_id, min_id and limit must be "
                       "numbers");
        return false;
    }
    /* Mastodon clamps rather than refuses. */
    page->limit = limit < 1 ? 1 : limit > max_limit ? max_limit : (int)limit;
    return true;
}

void api_link_header(struct api *api, struct http_req *req, struct http_res *res, uint64_t newest,
                     uint64_t oldest)
{
    struct buf keep = BUF_INIT, link = BUF_INIT;
    const struct http_kv *q;
    size_t n = http_req_query(req, &q);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(q[i].key, "max_id") || !strcmp(q[i].key, "min_id") ||
            !strcmp(q[i].key, "since_id") || !strcmp(q[i].key, "access_token"))
            continue;
        for (const char *p = q[i].key; *p; p++)
            buf_appendf(&keep, strchr("&=#+% \"<>", *p) ? "%%%02X" : "%c", (unsigned char)*p);
        buf_append_char(&keep, '=');
        for (const char *p = q[i].value; *p; p++)
            buf_appendf(&keep,
                        strchr("&=#+% \"<>", *p) || (unsigned char)*p < 0x21 ||
                                (unsigned char)*p > 0x7e
                            ? "%%%02X"
                            : "%c",
                        (unsigned char)*p);
        buf_append_char(&keep, '&');
    }
    const char *base = api->settings->base_url, *path = http_req_path(req);
    const char *k = keep.data ? keep.data : "";
    buf_appendf(&link, "<%s%s?%smax_id=%llu>; rel=\"next\", <%s%s?%smin_id=%llu>; rel=\"prev\"",
                base, path, k, (unsigned long long)oldest, base, path, k,
                (unsigned long long)newest);
    http_res_header(res, "Link", arena_strdup(http_req_arena(req), link.data));
    buf_release(&keep);
    buf_release(&link);
}

void api_relationship_json(struct jsonw *w, uint64_t id, const struct relationship *rel)
{
    jsonw_object_begin(w);
    jsonw_field_id(w, "id", id);
    jsonw_field_bool(w, "following", rel->following);
    jsonw_field_bool(w, "showing_reblogs", rel->following);
    jsonw_field_bool(w, "notifying", false);
    jsonw_key(w, "languages");
    jsonw_array_begin(w);
    jsonw_array_end(w);
    jsonw_field_bool(w, "followed_by", rel->followed_by);
    jsonw_field_bool(w, "blocking", false);
    jsonw_field_bool(w, "blocked_by", false);
    jsonw_field_bool(w, "muting", false);
    jsonw_field_bool(w, "muting_notifications", false);
    jsonw_field_bool(w, "requested", rel->requested);
    jsonw_field_bool(w, "requested_by", rel->requested_by);
    jsonw_field_bool(w, "domain_blocking", false);
    jsonw_field_bool(w, "endorsed", false);
    jsonw_field_str(w, "note", "");
    jsonw_object_end(w);
}
