/* args.c - request parameters: the query string, form bodies and JSON bodies, merged the way
 * Mastodon (Rails) reads them. Form decoding is written here rather than with
 * MHD_PostProcessor because malformed input must be rejected (400), not skipped. */
#include "lib/base/parse.h"
#include "lib/base/xalloc.h"
#include "lib/http/internal.h"

#include <string.h>
#include <strings.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) (plus as space, %XX) into arena memory; NULL on bad encoding or UTF-8. */
static char *form_decode(struct arena *a, const char *s, size_t n)
{
    char *out = arena_alloc(a, n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n)
                return NULL;
            int hi = hexval(s[i + 1]);
            int lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return NULL;
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    if (memchr(out, '\0', (size_t)(o - out)) || !utf8_valid(out, (size_t)(o - out)))
        return NULL;
    return out;
}

int http_parse_form(struct arena *a, const char *body, size_t len, struct http_kv **out, size_t *n,
                    struct err *err)
{
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += body[i] == '&';
    struct http_kv *kv = arena_alloc(a, cap * sizeof(*kv));
    size_t count = 0;
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            const char *kend = eq ? eq : stop;
            char *k = form_decode(a, p, (size_t)(kend - p));
            char *v = eq ? form_decode(a, eq + 1, (size_t)(stop - eq - 1)) : arena_strdup(a, "");
            if (!k || !v)
                return err_set(err, ERR_INVALID, "malformed form parameter near '%.*s'",
                               (int)(stop - p > 40 ? 40 : stop - p), p);
            if (*k) {
                kv[count].key = k;
                kv[count].value = v;
                count++;
            }
        }
        p = stop + 1;
    }
    *out = kv;
    *n = count;
    return 0;
}

struct flat {
    struct arena *a;
    struct http_kv *kv;
    size_t n, cap;
};

static void flat_push(struct flat *f, const char *key, const char *value)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        struct http_kv *kv = arena_alloc(f->a, cap * sizeof(*kv));
        if (f->n)
            memcpy(kv, f->kv, f->n * sizeof(*kv));
        f->kv = kv;
        f->cap = cap;
    }
    f->kv[f->n].key = key;
    f->kv[f->n].value = value;
    f->n++;
}

/* The text of a scalar, or NULL for null and containers. */
static const char *scalar(struct arena *a, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return arena_strndup(a, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return arena_sprintf(a, "%lld", (long long)json_integer_value(v));
    case JSON_REAL:
        return arena_sprintf(a, "%.17g", json_real_value(v));
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    default:
        return NULL;
    }
}

static int flatten(struct flat *f, const char *prefix, json_t *v, int depth, struct err *err)
{
    if (depth > 8)
        return err_set(err, ERR_INVALID, "JSON body nested too deeply");
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child)
        {
            const char *key = prefix ? arena_sprintf(f->a, "%s[%s]", prefix, k) : k;
            if (flatten(f, key, child, depth + 1, err))
                return ERR_INVALID;
        }
        return 0;
    }
    if (json_is_array(v)) {
        const char *key = arena_sprintf(f->a, "%s[]", prefix);
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (json_is_object(item)) {
                if (flatten(f, arena_sprintf(f->a, "%s[%zu]", prefix, i), item, depth + 1, err))
                    return ERR_INVALID;
                continue;
            }
            const char *s = scalar(f->a, item);
            if (s)
                flat_push(f, key, s);
        }
        return 0;
    }
    const char *s = scalar(f->a, v);
    if (s) {
        if (json_is_string(v) && strlen(s) != json_string_length(v))
            return err_set(err, ERR_INVALID, "NUL character in JSON string");
        flat_push(f, prefix, s);
    }
    return 0;
}

int http_flatten_json(struct arena *a, json_t *obj, struct http_kv **out, size_t *n,
                      struct err *err)
{
    struct flat f = {a, NULL, 0, 0};
    if (!json_is_object(obj))
        return err_set(err, ERR_INVALID, "JSON body is not an object");
    if (flatten(&f, NULL, obj, 0, err))
        return ERR_INVALID;
    *out = f.kv;
    *n = f.n;
    return 0;
}

static bool content_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

struct multipart {
    struct http_req *req;
    size_t cap;
    struct buf value; /* the part being read */
    const char *key;
    bool file;
    bool bad;
};

/* Ends the part being read: text parts must be UTF-8 without NUL; a file part is recorded by
 * its name with an empty value (uploads are not stored yet). */
static void multipart_flush(struct multipart *m)
{
    struct http_req *req = m->req;
    if (!m->key)
        return;
    const char *v = "";
    if (!m->file) {
        if (memchr(m->value.data ? m->value.data : "", '\0', m->value.len) ||
            !utf8_valid(m->value.data ? m->value.data : "", m->value.len))
            m->bad = true;
        v = arena_strndup(&req->arena, m->value.data ? m->value.data : "", m->value.len);
    }
    if (req->nargs == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        struct http_kv *kv = arena_alloc(&req->arena, cap * sizeof(*kv));
        if (req->nargs)
            memcpy(kv, req->args, req->nargs * sizeof(*kv));
        req->args = kv;
        m->cap = cap;
    }
    req->args[req->nargs].key = m->key;
    req->args[req->nargs].value = v;
    req->nargs++;
    m->key = NULL;
    buf_reset(&m->value);
}

static enum MHD_Result multipart_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *filename, const char *content_type,
                                      const char *transfer_encoding, const char *data, uint64_t off,
                                      size_t size)
{
    struct multipart *m = cls;
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    if (!key)
        return MHD_YES;
    /* A new part starts at offset 0; later calls with the same key continue it. */
    if (off == 0 || !m->key || strcmp(m->key, key) != 0) {
        multipart_flush(m);
        m->key = arena_strdup(&m->req->arena, key);
        m->file = filename != NULL;
    }
    if (!m->file && size)
        buf_append(&m->value, data, size);
    return MHD_YES;
}

/* multipart/form-data (masto.js sends it for account registration and profile updates),
 * decoded by libmicrohttpd's post processor over the buffered body. */
static int parse_multipart(struct http_req *req)
{
    struct multipart m = {req, 0, BUF_INIT, NULL, false, false};
    struct MHD_PostProcessor *pp =
        MHD_create_post_processor(req->conn, 16 * 1024, multipart_iter, &m);
    if (!pp)
        return -1;
    bool ok = MHD_post_process(pp, req->body.data, req->body.len) == MHD_YES;
    ok = MHD_destroy_post_processor(pp) == MHD_YES && ok;
    multipart_flush(&m);
    buf_release(&m.value);
    return ok && !m.bad ? 0 : -1;
}

int http_args_parse_body(struct http_req *req)
{
    struct err err = {0};
    if (req->body.len == 0)
        return 0;
    const char *ct = http_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct && content_type_is(ct, "application/json")) {
        json_error_t jerr;
        req->json = json_loadb(req->body.data, req->body.len, 0, &jerr);
        if (!req->json) {
            http_res_error(&req->res, 400, "Malformed JSON in request body");
            return 400;
        }
        if (http_flatten_json(&req->arena, req->json, &req->args, &req->nargs, &err)) {
            http_res_error(&req->res, 400, "Request body must be a JSON object");
            return 400;
        }
        return 0;
    }
    if (!ct || content_type_is(ct, "application/x-www-form-urlencoded")) {
        if (memchr(req->body.data, '\0', req->body.len) ||
            http_parse_form(&req->arena, req->body.data, req->body.len, &req->args, &req->nargs,
                            &err)) {
            http_res_error(&req->res, 400, "Malformed form parameters in request body");
            return 400;
        }
        return 0;
    }
    if (content_type_is(ct, "multipart/form-data")) {
        if (parse_multipart(req)) {
            http_res_error(&req->res, 400, "Malformed multipart body");
            return 400;
        }
        return 0;
    }
    http_res_error(&req->res, 415, "Unsupported Content-Type");
    return 415;
}

struct query_collect {
    struct http_req *req;
    size_t cap;
};

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct query_collect *q = cls;
    struct http_req *req = q->req;
    (void)kind;
    if (!key || !*key)
        return MHD_YES;
    if (req->nquery == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        struct http_kv *kv = arena_alloc(&req->arena, cap * sizeof(*kv));
        if (req->nquery)
            memcpy(kv, req->query, req->nquery * sizeof(*kv));
        req->query = kv;
        q->cap = cap;
    }
    req->query[req->nquery].key = key;
    req->query[req->nquery].value = value ? value : "";
    req->nquery++;
    return MHD_YES;
}

int http_args_parse_query(struct http_req *req)
{
    struct query_collect q = {req, 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_iter, &q);
    for (size_t i = 0; i < req->nquery; i++) {
        if (!utf8_valid(req->query[i].key, strlen(req->query[i].key)) ||
            !utf8_valid(req->query[i].value, strlen(req->query[i].value))) {
            http_res_error(&req->res, 400, "Malformed query string (not UTF-8)");
            return 400;
        }
    }
    return 0;
}

/* "types" matches the keys "types" and "types[]". */
static bool key_matches(const char *key, const char *name, size_t n)
{
    return strncmp(key, name, n) == 0 && (key[n] == '\0' || strcmp(key + n, "[]") == 0);
}

const char *http_req_arg(const struct http_req *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nargs; i++)
        if (key_matches(req->args[i].key, name, n))
            return req->args[i].value;
    for (size_t i = 0; i < req->nquery; i++)
        if (key_matches(req->query[i].key, name, n))
            return req->query[i].value;
    return NULL;
}

size_t http_req_args(struct http_req *req, const char *name, const char ***out)
{
    size_t n = strlen(name), count = 0;
    const char **vals = arena_alloc(&req->arena, (req->nargs + req->nquery + 1) * sizeof(*vals));
    for (size_t i = 0; i < req->nargs; i++)
        if (key_matches(req->args[i].key, name, n))
            vals[count++] = req->args[i].value;
    for (size_t i = 0; i < req->nquery; i++)
        if (key_matches(req->query[i].key, name, n))
            vals[count++] = req->query[i].value;
    vals[count] = NULL;
    *out = vals;
    return count;
}

bool http_req_arg_bool(const struct http_req *req, const char *name, bool def, bool *ok)
{
    const char *v = http_req_arg(req, name);
    bool b = def;
    if (v && !parse_bool(v, &b)) {
        if (ok)
            *ok = false;
        return false;
    }
    return b;
}

json_t *http_req_json(const struct http_req *req)
{
    return req->json;
}

const char *http_req_body(const struct http_req *req, size_t *len)
{
    if (len)
        *len = req->body.len;
    return req->body.len ? req->body.data : NULL;
}

size_t http_req_query(const struct http_req *req, const struct http_kv **out)
{
    *out = req->query;
    return req->nquery;
}
