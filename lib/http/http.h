/* http.h - the HTTP server both services stand on: libmicrohttpd (epoll thread pool) with a
 * router, request parameters merged from path, query and body (JSON or form), JSON responses
 * and errors in Mastodon's shape, CORS, request ids, access log and metrics.
 * It knows nothing of posts or notifications. Handlers run on the server's threads. */
#ifndef LIB_HTTP_HTTP_H
#define LIB_HTTP_HTTP_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "lib/base/log.h"
#include "lib/base/metrics.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_HEAD = 1 << 1,
    HTTP_POST = 1 << 2,
    HTTP_PUT = 1 << 3,
    HTTP_PATCH = 1 << 4,
    HTTP_DELETE = 1 << 5,
    HTTP_OPTIONS = 1 << 6,
};

struct http_server;
struct http_req;
struct http_res;
struct http_kv;

/* A handler fills res. It must not keep req or res after it returns. */
typedef void (*http_handler_fn)(struct http_req *req, struct http_res *res, void *ctx);

struct http_server_config {
    const char *bind;          /* IPv4 or IPv6 literal; NULL or "" = all interfaces */
    int port;                  /* 0 = pick a free port (see http_server_port) */
    unsigned threads;          /* epoll threads; 0 = number of CPUs */
    size_t max_body;           /* bytes; larger bodies get 413 */
    unsigned conn_timeout_s;   /* idle keep-alive timeout */
    unsigned conn_limit;       /* concurrent connections */
    unsigned backlog;          /* listen(2) backlog */
    size_t conn_memory_limit;  /* per-connection buffer; bounds header and URL size */
    bool access_log;           /* one log line per request */
    unsigned blocking_threads; /* workers for http_route_blocking handlers; 0 = 2 */
    struct logger *log;        /* required */
    struct metrics *metrics;   /* required */
};

/* Fills cfg with the defaults (port 0, 1 MiB bodies, 60 s timeout, ...). */
void http_server_config_defaults(struct http_server_config *cfg);

struct http_server *http_server_new(const struct http_server_config *cfg);
/* Registers a handler for the methods (an OR of enum http_method) at pattern, whose segments
 * are literals or ":name" parameters ("/api/v1/statuses/:id/context"). A literal segment
 * wins over a parameter at the same place. GET routes also answer HEAD. */
void http_route(struct http_server *s, unsigned methods, const char *pattern, http_handler_fn fn,
                void *ctx);
/* The same for a handler that is slow by design (password hashing): it runs on a small pool
 * of worker threads while its connection is suspended, so the event threads go on serving
 * everyone else. The handler sees the same request API. */
void http_route_blocking(struct http_server *s, unsigned methods, const char *pattern,
                         http_handler_fn fn, void *ctx);
/* How many worker threads per CPU when the configured count is 0 (default 1); before
 * http_server_start. A service whose handlers wait on a database server over the network
 * asks for more, so the CPUs are not idle while requests wait. */
void http_server_threads_per_cpu(struct http_server *s, unsigned per_cpu);
/* How many worker threads per CPU run http_route_blocking handlers (threads named
 * http-blocking) when the configured count is 0 (default: 2 in all); before
 * http_server_start. */
void http_server_blocking_threads_per_cpu(struct http_server *s, unsigned per_cpu);
int http_server_start(struct http_server *s, struct err *err);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *s);
/* Graceful stop: stop accepting, run the shutdown hooks, let in-flight requests finish (up to
 * grace_ms), then close every connection. */
void http_server_shutdown(struct http_server *s, int grace_ms);
/* Registers fn to run once in http_server_shutdown, right after the server stops accepting and
 * before it waits for in-flight requests: long-lived responses (streams) end themselves there.
 * Hooks run in registration order on the thread that shuts down. */
void http_server_on_shutdown(struct http_server *s, void (*fn)(void *ctx), void *ctx);
/* Stops (if running) and frees. NULL is a no-op. */
void http_server_free(struct http_server *s);

/* Answering later (long polls). In a handler, http_req_suspend makes the request wait once the
 * handler returns, its connection suspended, without holding any thread; the handler hands req
 * and res to whoever answers (after the call, never before). That thread fills res and calls
 * http_req_resume(req) exactly once; the response is then sent. Headers and the peer address
 * stay readable through the request functions until then. */
void http_req_suspend(struct http_req *req);
void http_req_resume(struct http_req *req);
/* Owners of suspended requests answer them in a shutdown hook (http_server_on_shutdown). */

/* Request. Strings returned are valid until the handler returns. */
enum http_method http_req_method(const struct http_req *req);
const char *http_req_path(const struct http_req *req);
const char *http_req_id(const struct http_req *req);
struct arena *http_req_arena(struct http_req *req);
/* A request header (case-insensitive name), or NULL. */
const char *http_req_header(struct http_req *req, const char *name);
/* A path parameter named in the route pattern (without the colon), or NULL. */
const char *http_req_path_param(const struct http_req *req, const char *name);
/* The first value of a parameter from the body, else the query string, else NULL. Array
 * parameters (`key[]=` in forms and queries, JSON arrays) are found under their bare name. */
const char *http_req_arg(const struct http_req *req, const char *name);
/* Every value of a parameter (body values first). Returns the count; *out is arena memory. */
size_t http_req_args(struct http_req *req, const char *name, const char ***out);
/* Boolean parameter: absent -> def; true/True/1/false/0... -> value; anything else -> false
 * returned and *ok set false (callers answer 422). */
bool http_req_arg_bool(const struct http_req *req, const char *name, bool def, bool *ok);
/* Every query parameter in order (arena memory); returns the count. */
size_t http_req_query(const struct http_req *req, const struct http_kv **out);
/* The JSON body, if the request had one (borrowed), else NULL. */
json_t *http_req_json(const struct http_req *req);
/* The raw body (NUL-terminated) and its length; NULL when there is none. */
const char *http_req_body(const struct http_req *req, size_t *len);
/* The peer's address as text. */
const char *http_req_remote(struct http_req *req);
/* The client's address: the peer, or, when the peer is a proxy on loopback (our gateway), the
 * last address it appended to X-Forwarded-For. */
const char *http_req_client_ip(struct http_req *req);

/* Response. The last body call wins. Default: 500 with an empty JSON error. */
void http_res_header(struct http_res *res, const char *name, const char *value);
/* Serialises json (and takes its reference) as the body, with application/json. */
void http_res_json(struct http_res *res, int status, json_t *json);
/* A body that outlives the server (static data): sent without copying. */
void http_res_static(struct http_res *res, int status, const char *content_type, const void *body,
                     size_t len);
/* A body copied into the response. */
void http_res_bytes(struct http_res *res, int status, const char *content_type, const void *body,
                    size_t len);
/* A body in malloc'd memory that the response takes over (free()d after sending). */
void http_res_take(struct http_res *res, int status, const char *content_type, char *body,
                   size_t len);
/* Mastodon's error shape: {"error": msg}. */
void http_res_error(struct http_res *res, int status, const char *msg);

/* The body parser on its own, for tests and other front ends: parses a form
 * (application/x-www-form-urlencoded) into key/value pairs in arena a. Returns 0 or
 * ERR_INVALID for bad percent-encoding or invalid UTF-8. */
struct http_kv {
    const char *key, *value;
};
int http_parse_form(struct arena *a, const char *body, size_t len, struct http_kv **out, size_t *n,
                    struct err *err);
/* Flattens a JSON object into key/value pairs the way Rails reads nested params:
 * scalars by key, arrays as "key[]" values, objects as "key[sub]". null is omitted. */
int http_flatten_json(struct arena *a, json_t *obj, struct http_kv **out, size_t *n,
                      struct err *err);

#endif
