/* internal.h - lib/http's private structures, shared by its .c files only. */
#ifndef LIB_HTTP_INTERNAL_H
#define LIB_HTTP_INTERNAL_H

#include "lib/base/buf.h"
#include "lib/http/http.h"

#include <microhttpd.h>

#define HTTP_MAX_SEGMENTS 16
#define HTTP_MAX_PARAMS 8

struct http_route {
    struct http_route *next;
    unsigned methods;
    char *pattern;
    char *split; /* a copy of pattern cut into seg[] */
    size_t nseg;
    char *seg[HTTP_MAX_SEGMENTS]; /* literal, or ":name" */
    http_handler_fn fn;
    void *ctx;
    bool blocking;                  /* run on the worker pool */
    struct metric_series *duration; /* http_request_duration_seconds{route} */
};

struct http_res {
    int status;
    const char *content_type;
    enum { RES_NONE, RES_STATIC, RES_COPY, RES_FREE, RES_MHD } mode;
    struct MHD_Response *mhd; /* RES_MHD: a prepared response (upgrade or callback) */
    const void *body;
    size_t len;
    size_t nheaders;
    struct http_kv headers[16];
};

struct http_req {
    struct http_server *server;
    struct MHD_Connection *conn;
    struct arena arena;
    int64_t start_ns;
    enum http_method method;
    const char *method_str;
    char *path;
    char req_id[40];
    struct buf body;
    bool body_too_large;
    size_t body_seen; /* bytes received, kept or not */
    bool answered;
    bool suspended;          /* handed to the worker pool */
    bool handled;            /* the worker pool ran the handler */
    struct http_req *next;   /* worker pool queue */
    struct http_kv *headers; /* snapshot for handlers off the event threads */
    size_t nheaders;
    const struct http_route *route;
    size_t nparams;
    struct http_kv params[HTTP_MAX_PARAMS];
    struct http_kv *args; /* from the body */
    size_t nargs;
    struct http_kv *query;
    size_t nquery;
    json_t *json;
    char remote[64];
    struct http_res res;
    void (*on_done)(void *ctx); /* see http_req_on_done */
    void *on_done_ctx;
};

/* Router (router.c). */
void http_router_add(struct http_route **head, unsigned methods, const char *pattern,
                     http_handler_fn fn, void *ctx);
/* Finds the best route for path. On a path match with the wrong method, returns NULL and
 * sets *allowed to the methods the path does accept (0 if no route matches the path). */
const struct http_route *http_router_match(const struct http_route *head, struct http_req *req,
                                           unsigned *allowed);
void http_router_free(struct http_route *head);

/* Body and query parsing (args.c). Returns 0 or an HTTP status with the error set in res. */
int http_args_parse_body(struct http_req *req);
int http_args_parse_query(struct http_req *req);

void http_res_init(struct http_res *res);

/* For lib/http's streaming code (stream*.c), which speaks libmicrohttpd directly. */

/* Answers with a prepared libmicrohttpd response (an upgrade or a callback response), which
 * res takes over; the server adds its usual headers and res's headers and queues it. */
void http_res_mhd(struct http_res *res, int status, const char *content_type,
                  struct MHD_Response *r);
/* fn(ctx) runs once when the request ends: completed, aborted, or, after an upgrade, once the
 * upgraded socket was closed. It runs on a libmicrohttpd thread, possibly under libmicrohttpd's
 * locks, so it must not call libmicrohttpd. */
void http_req_on_done(struct http_req *req, void (*fn)(void *ctx), void *ctx);

#endif
