/* render.c - the Status and Relationship entities, pagination parameters and Link headers
 * (mastodon/documentation entities/Status.md, entities/Relationship.md, api/guidelines.md). */
#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/id.h"
#include "lib/base/parse.h"
#include "services/threadly/adapters/http/api.h"

#include <string.h>

static const char *const visibility_names[] = {"public", "unlisted", "private", "direct"};

void api_status_renderer_init(struct status_renderer *r, struct api *api, struct http_req *req,
                              uint64_t viewer)
{
    memset(r, 0, sizeof(*r));
    r->api = api;
    r->req = req;
    r->viewer = viewer;
}

static int account_of(struct status_renderer *r, uint64_t id, struct account **out, struct err *err)
{
    for (size_t i = 0; i < r->naccounts; i++) {
        if (r->accounts[i]->id == id) {
            *out = r->accounts[i];
            return 0;
        }
    }
    int rc = account_store_get(&r->api->core->accounts, id, http_req_arena(r->req), out, err);
    if (rc == 0 && r->naccounts < sizeof(r->accounts) / sizeof(r->accounts[0]))
        r->accounts[r->naccounts++] = *out;
    return rc;
}

static json_t *id_or_null(uint64_t id)
{
    char s[ID_STR_LEN];
    if (!id)
        return json_null();
    id_format(id, s);
    return json_string(s);
}

json_t *api_status_json(struct status_renderer *r, const struct status *s, bool with_text, int *rc,
                        struct err *err)
{
    struct arena *a = http_req_arena(r->req);
    const char *base = r->api->settings->base_url;
    struct account *author;
    char id[ID_STR_LEN], created[CLOCK_ISO_LEN];
    bool favourited = false;
    *rc = account_of(r, s->account_id, &author, err);
    if (*rc == 0 && r->viewer)
        *rc = social_store_favourited(&r->api->core->social, r->viewer, s->id, &favourited, err);
    if (*rc)
        return NULL;
    json_t *mentions = json_array();
    for (size_t i = 0; i < s->nmentions; i++) {
        struct account *m;
        char mid[ID_STR_LEN];
        if (account_of(r, s->mentions[i], &m, err) != 0)
            continue; /* a deleted account is simply not listed */
        id_format(m->id, mid);
        json_array_append_new(mentions,
                              json_pack("{s:s, s:s, s:s, s:s}", "id", mid, "username", m->username,
                                        "url", arena_sprintf(a, "%s/@%s", base, m->username),
                                        "acct", m->username));
    }
    json_t *tags = json_array();
    for (size_t i = 0; i < s->ntags; i++)
        json_array_append_new(tags, json_pack("{s:s, s:s}", "name", s->tags[i], "url",
                                              arena_sprintf(a, "%s/tags/%s", base, s->tags[i])));
    id_format(s->id, id);
    clock_format_iso(s->created_at_ms, created);
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:b, s:s, s:[], s:o, s:o, s:[], s:I, s:I, s:I,"
        " s:o, s:o, s:n, s:n, s:n, s:o, s:n, s:b, s:b, s:b, s:b, s:b}",
        "id", id, "uri", arena_sprintf(a, "%s/users/%s/statuses/%s", base, author->username, id),
        "url", arena_sprintf(a, "%s/@%s/%s", base, author->username, id), "created_at", created,
        "account", api_account_json(r->api, author, false), "content", s->content, "visibility",
        visibility_names[s->visibility], "sensitive", s->sensitive, "spoiler_text", s->spoiler_text,
        "media_attachments", "mentions", mentions, "tags", tags, "emojis", "reblogs_count",
        (json_int_t)s->reblogs_count, "favourites_count", (json_int_t)s->favourites_count,
        "replies_count", (json_int_t)s->replies_count, "in_reply_to_id",
        id_or_null(s->in_reply_to_id), "in_reply_to_account_id",
        id_or_null(s->in_reply_to_account_id), "reblog", "poll", "card", "language",
        *s->language ? json_string(s->language) : json_null(), "edited_at", "favourited",
        favourited, "reblogged", 0, "muted", 0, "bookmarked", 0, "pinned", 0);
    if (with_text)
        json_object_set_new(j, "text", json_string(s->text));
    return j;
}

json_t *api_status_list_json(struct status_renderer *r, const struct status_list *l, int *rc,
                             struct err *err)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n; i++) {
        json_t *j = api_status_json(r, &l->items[i], false, rc, err);
        if (!j) {
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, j);
    }
    return arr;
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

json_t *api_relationship_json(uint64_t id, const struct relationship *rel)
{
    char s[ID_STR_LEN];
    id_format(id, s);
    return json_pack("{s:s, s:b, s:b, s:b, s:[], s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b,"
                     " s:s}",
                     "id", s, "following", rel->following, "showing_reblogs", rel->following,
                     "notifying", 0, "languages", "followed_by", rel->followed_by, "blocking", 0,
                     "blocked_by", 0, "muting", 0, "muting_notifications", 0, "requested",
                     rel->requested, "requested_by", rel->requested_by, "domain_blocking", 0,
                     "endorsed", 0, "note", "");
}
