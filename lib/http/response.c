/* response.c - building responses: JSON, static and copied bodies, Mastodon-style errors. */
#include "lib/base/xalloc.h"
#include "lib/http/internal.h"

#include <string.h>

void http_res_init(struct http_res *res)
{
    memset(res, 0, sizeof(*res));
    res->status = 500;
}

static void set_body(struct http_res *res, int status, const char *ct, int mode, const void *body,
                     size_t len)
{
    if (res->mode == RES_FREE)
        free((void *)res->body);
    if (res->mode == RES_MHD)
        MHD_destroy_response(res->mhd);
    res->mhd = NULL;
    res->status = status;
    res->content_type = ct;
    res->mode = mode;
    res->body = body;
    res->len = len;
}

void http_res_header(struct http_res *res, const char *name, const char *value)
{
    ASSERT(res->nheaders < sizeof(res->headers) / sizeof(res->headers[0]));
    res->headers[res->nheaders].key = name;
    res->headers[res->nheaders].value = value;
    res->nheaders++;
}

static int dump_cb(const char *chunk, size_t n, void *data)
{
    buf_append(data, chunk, n);
    return 0;
}

void http_res_json(struct http_res *res, int status, json_t *json)
{
    struct buf b = BUF_INIT;
    json_dump_callback(json, dump_cb, &b, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    json_decref(json);
    size_t len;
    char *body = buf_detach(&b, &len);
    set_body(res, status, "application/json; charset=utf-8", RES_FREE, body, len);
}

void http_res_static(struct http_res *res, int status, const char *content_type, const void *body,
                     size_t len)
{
    set_body(res, status, content_type, RES_STATIC, body, len);
}

void http_res_bytes(struct http_res *res, int status, const char *content_type, const void *body,
                    size_t len)
{
    char *copy = xmalloc(len + 1);
    memcpy(copy, body, len);
    copy[len] = '\0';
    set_body(res, status, content_type, RES_FREE, copy, len);
}

void http_res_take(struct http_res *res, int status, const char *content_type, char *body,
                   size_t len)
{
    set_body(res, status, content_type, RES_FREE, body, len);
}

void http_res_error(struct http_res *res, int status, const char *msg)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "{\"error\":");
    buf_append_json_str(&b, msg, strlen(msg));
    buf_append_char(&b, '}');
    size_t len;
    char *body = buf_detach(&b, &len);
    set_body(res, status, "application/json; charset=utf-8", RES_FREE, body, len);
}

void http_res_mhd(struct http_res *res, int status, const char *content_type,
                  struct MHD_Response *r)
{
    set_body(res, status, content_type, RES_MHD, NULL, 0);
    res->mhd = r;
}
