/* server.c - libmicrohttpd glue: request lifecycle, body accumulation under a limit, dispatch,
 * CORS, request ids, access log, metrics, graceful shutdown.
 *
 * Keep-alive: libmicrohttpd closes the connection when a response is queued on the first
 * callback of a request whose body has not been read, so we never answer on the first call
 * (except 413 for a declared oversized body, where closing is what we want). */
#include "lib/base/clock.h"
#include "lib/base/xalloc.h"
#include "lib/http/internal.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* Workers for blocking handlers: a queue under a mutex, resumed connections on completion. */
struct http_pool {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    struct http_req *head, *tail;
    bool stop;
    unsigned nthreads;
    pthread_t *threads;
};

struct http_shutdown_hook {
    struct http_shutdown_hook *next;
    void (*fn)(void *ctx);
    void *ctx;
};

struct http_server {
    struct http_server_config cfg;
    struct http_shutdown_hook *hooks;
    struct http_pool pool;
    struct MHD_Daemon *daemon;
    struct http_route *routes;
    int port;
    unsigned threads_per_cpu;  /* when cfg.threads is 0; 0 = 1 */
    unsigned blocking_per_cpu; /* when cfg.blocking_threads is 0; 0: 2 in all */
    _Atomic long inflight;
    struct metric_family *requests;  /* http_requests_total{route,method,code} */
    struct metric_family *durations; /* http_request_duration_seconds{route} */
    struct metric_series *inflight_gauge;
    struct metric_series *unmatched_duration;
};

static const double duration_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};

void http_server_config_defaults(struct http_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->bind = "127.0.0.1";
    cfg->max_body = 1 << 20;
    cfg->conn_timeout_s = 60;
    cfg->conn_limit = 20000;
    cfg->backlog = 4096;
    cfg->conn_memory_limit = 16 * 1024;
    cfg->access_log = true;
}

struct http_server *http_server_new(const struct http_server_config *cfg)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    ASSERT(cfg->log && cfg->metrics);
    s->cfg = *cfg;
    static const char *const req_labels[] = {"route", "method", "code"};
    static const char *const dur_labels[] = {"route"};
    s->requests =
        metrics_counter(cfg->metrics, "http_requests_total",
                        "HTTP requests answered, by route, method and status code.", 3, req_labels);
    s->durations = metrics_histogram(
        cfg->metrics, "http_request_duration_seconds",
        "Time from the request's headers to its response being queued, by route.", 1, dur_labels,
        sizeof(duration_bounds) / sizeof(duration_bounds[0]), duration_bounds);
    struct metric_family *g = metrics_gauge(cfg->metrics, "http_requests_in_flight",
                                            "Requests being processed now.", 0, NULL);
    s->inflight_gauge = metrics_series(g, NULL);
    static const char *const unmatched[] = {"unmatched"};
    s->unmatched_duration = metrics_series(s->durations, unmatched);
    return s;
}

static struct http_route *add_route(struct http_server *s, unsigned methods, const char *pattern,
                                    http_handler_fn fn, void *ctx)
{
    ASSERT(!s->daemon);
    http_router_add(&s->routes, methods, pattern, fn, ctx);
    struct http_route *r = s->routes;
    while (r->next)
        r = r->next;
    const char *label[] = {pattern};
    r->duration = metrics_series(s->durations, label);
    return r;
}

void http_route(struct http_server *s, unsigned methods, const char *pattern, http_handler_fn fn,
                void *ctx)
{
    add_route(s, methods, pattern, fn, ctx);
}

void http_route_blocking(struct http_server *s, unsigned methods, const char *pattern,
                         http_handler_fn fn, void *ctx)
{
    add_route(s, methods, pattern, fn, ctx)->blocking = true;
}

static enum MHD_Result copy_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct http_req *req = cls;
    (void)kind;
    if (req->nheaders < 64 && key && value) {
        req->headers[req->nheaders].key = arena_strdup(&req->arena, key);
        req->headers[req->nheaders].value = arena_strdup(&req->arena, value);
        req->nheaders++;
    }
    return MHD_YES;
}

static void *pool_worker(void *arg)
{
    struct http_server *s = arg;
    struct http_pool *p = &s->pool;
    pthread_setname_np(pthread_self(), "http-blocking");
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cv, &p->lock);
        struct http_req *req = p->head;
        if (!req)
            break; /* stopping and the queue is empty */
        p->head = req->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        req->route->fn(req, &req->res, req->route->ctx);
        http_req_resume(req);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Suspends req's connection; the headers and the peer address are copied first so that no
 * other thread ever touches the connection. */
void http_req_suspend(struct http_req *req)
{
    ASSERT(!req->suspended);
    http_req_remote(req);
    req->headers = arena_alloc(&req->arena, 64 * sizeof(*req->headers));
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, copy_header, req);
    req->suspended = true;
    MHD_suspend_connection(req->conn);
}

void http_req_resume(struct http_req *req)
{
    ASSERT(req->suspended && !req->handled);
    req->handled = true;
    MHD_resume_connection(req->conn);
}

/* Hands req to the pool with its connection suspended. */
static void pool_submit(struct http_server *s, struct http_req *req)
{
    struct http_pool *p = &s->pool;
    http_req_suspend(req);
    pthread_mutex_lock(&p->lock);
    req->next = NULL;
    if (p->tail)
        p->tail->next = req;
    else
        p->head = req;
    p->tail = req;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->lock);
}

static unsigned cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static void pool_start(struct http_server *s)
{
    struct http_pool *p = &s->pool;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->nthreads = s->cfg.blocking_threads ? s->cfg.blocking_threads
                  : s->blocking_per_cpu   ? cpu_count() * s->blocking_per_cpu
                                          : 2;
    p->threads = xcalloc(p->nthreads, sizeof(*p->threads));
    for (unsigned i = 0; i < p->nthreads; i++)
        ASSERT(pthread_create(&p->threads[i], NULL, pool_worker, s) == 0);
}

/* Runs what is queued, then joins the workers. */
static void pool_stop(struct http_server *s)
{
    struct http_pool *p = &s->pool;
    if (!p->threads)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    p->threads = NULL;
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->lock);
}

static enum http_method parse_method(const char *m)
{
    static const struct {
        const char *name;
        enum http_method m;
    } table[] = {{"GET", HTTP_GET},        {"HEAD", HTTP_HEAD},   {"POST", HTTP_POST},
                 {"PUT", HTTP_PUT},        {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE},
                 {"OPTIONS", HTTP_OPTIONS}};
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(m, table[i].name) == 0)
            return table[i].m;
    return 0;
}

static void allow_header(unsigned methods, char *out, size_t n)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < 7; i++)
        if (methods & (1u << i))
            used += (size_t)snprintf(out + used, n - used, "%s%s", used ? ", " : "", names[i]);
}

/* Request ids: the client's X-Request-Id when it is short and plain, else 32 random hex
 * digits from a per-thread generator seeded by getrandom(2). */
static void make_request_id(struct http_req *req)
{
    static _Thread_local uint64_t state;
    const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given) {
        size_t n = strlen(given);
        bool ok = n > 0 && n < sizeof(req->req_id);
        for (size_t i = 0; ok && i < n; i++)
            ok = (given[i] >= '0' && given[i] <= '9') || (given[i] >= 'a' && given[i] <= 'z') ||
                 (given[i] >= 'A' && given[i] <= 'Z') || given[i] == '-' || given[i] == '_' ||
                 given[i] == '.';
        if (ok) {
            memcpy(req->req_id, given, n + 1);
            return;
        }
    }
    if (state == 0 && getrandom(&state, sizeof(state), 0) != sizeof(state))
        state = (uint64_t)clock_monotonic_ns() ^ (uint64_t)getpid();
    uint64_t r[2];
    for (int i = 0; i < 2; i++) {
        /* splitmix64 */
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        r[i] = z ^ (z >> 31);
    }
    snprintf(req->req_id, sizeof(req->req_id), "%016llx%016llx", (unsigned long long)r[0],
             (unsigned long long)r[1]);
}

static struct http_req *req_new(struct http_server *s, struct MHD_Connection *conn, const char *url,
                                const char *method)
{
    struct http_req *req = xcalloc(1, sizeof(*req));
    req->server = s;
    req->conn = conn;
    req->start_ns = clock_monotonic_ns();
    arena_init(&req->arena, 4096);
    buf_init(&req->body);
    http_res_init(&req->res);
    req->method = parse_method(method);
    req->method_str = arena_strdup(&req->arena, method);
    /* Mastodon clients call some paths with a trailing slash (/api/v1/instance/). */
    size_t n = strlen(url);
    if (n > 1 && url[n - 1] == '/')
        n--;
    req->path = arena_strndup(&req->arena, url, n);
    make_request_id(req);
    atomic_fetch_add(&s->inflight, 1);
    metrics_add(s->inflight_gauge, 1);
    return req;
}

static void req_free(struct http_req *req)
{
    if (!req)
        return;
    atomic_fetch_sub(&req->server->inflight, 1);
    metrics_add(req->server->inflight_gauge, -1);
    if (req->on_done)
        req->on_done(req->on_done_ctx);
    if (req->res.mode == RES_FREE)
        free((void *)req->res.body);
    if (req->res.mode == RES_MHD)
        MHD_destroy_response(req->res.mhd);
    json_decref(req->json);
    buf_release(&req->body);
    arena_release(&req->arena);
    free(req);
}

static void add_cors(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(r, "Access-Control-Expose-Headers",
                            "Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, "
                            "X-Request-Id, Idempotency-Key");
}

static enum MHD_Result send_response(struct http_req *req)
{
    struct http_res *res = &req->res;
    struct MHD_Response *r;
    req->answered = true;
    if (res->mode == RES_MHD) {
        r = res->mhd; /* the reference passes to this function */
        res->mhd = NULL;
        res->mode = RES_NONE;
    } else if (res->mode == RES_NONE) {
        static const char empty[] = "";
        r = MHD_create_response_from_buffer(0, (void *)empty, MHD_RESPMEM_PERSISTENT);
    } else {
        enum MHD_ResponseMemoryMode mode = res->mode == RES_STATIC ? MHD_RESPMEM_PERSISTENT
                                           : res->mode == RES_FREE ? MHD_RESPMEM_MUST_FREE
                                                                   : MHD_RESPMEM_MUST_COPY;
        r = MHD_create_response_from_buffer(res->len, (void *)res->body, mode);
        if (res->mode == RES_FREE)
            res->mode = RES_COPY; /* now owned by the MHD response */
    }
    if (!r)
        return MHD_NO;
    if (res->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    MHD_add_response_header(r, "X-Request-Id", req->req_id);
    add_cors(r);
    for (size_t i = 0; i < res->nheaders; i++)
        MHD_add_response_header(r, res->headers[i].key, res->headers[i].value);
    enum MHD_Result ret = MHD_queue_response(req->conn, (unsigned)res->status, r);
    MHD_destroy_response(r);

    struct http_server *s = req->server;
    char code[8];
    snprintf(code, sizeof(code), "%d", res->status);
    const char *route = req->route ? req->route->pattern : "unmatched";
    const char *labels[] = {route, req->method ? req->method_str : "other", code};
    metrics_add(metrics_series(s->requests, labels), 1);
    double secs = (double)(clock_monotonic_ns() - req->start_ns) / 1e9;
    metrics_observe(req->route ? req->route->duration : s->unmatched_duration, secs);
    return ret;
}

static void preflight(struct http_req *req)
{
    struct http_res *res = &req->res;
    const char *want = http_req_header(req, "Access-Control-Request-Headers");
    res->status = 204;
    http_res_header(res, "Access-Control-Allow-Methods", "POST, PUT, DELETE, GET, PATCH, OPTIONS");
    http_res_header(res, "Access-Control-Allow-Headers",
                    want ? arena_strdup(&req->arena, want)
                         : "Authorization, Content-Type, Idempotency-Key, X-Request-Id");
    http_res_header(res, "Access-Control-Max-Age", "86400");
}

static void dispatch(struct http_req *req)
{
    struct http_server *s = req->server;
    unsigned allowed = 0;
    if (req->method == HTTP_OPTIONS) {
        preflight(req);
        return;
    }
    if (req->body_too_large) {
        http_res_error(&req->res, 413, "Request body too large");
        return;
    }
    req->route = req->method ? http_router_match(s->routes, req, &allowed) : NULL;
    if (!req->route) {
        if (allowed) {
            char allow[96];
            allow_header(allowed, allow, sizeof(allow));
            http_res_header(&req->res, "Allow", arena_strdup(&req->arena, allow));
            http_res_error(&req->res, 405, "Method not allowed");
        } else {
            http_res_error(&req->res, 404, "Record not found");
        }
        return;
    }
    if (http_args_parse_query(req) || http_args_parse_body(req))
        return;
    if (req->route->blocking) {
        pool_submit(s, req);
        return;
    }
    req->route->fn(req, &req->res, req->route->ctx);
}

static bool declared_too_large(struct http_req *req)
{
    const char *cl =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return false;
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    return *end == '\0' && n > req->server->cfg.max_body;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct http_server *s = cls;
    struct http_req *req = *req_cls;
    (void)version;

    if (!req) {
        req = req_new(s, conn, url, method);
        *req_cls = req;
        if (declared_too_large(req)) {
            http_res_error(&req->res, 413, "Request body too large");
            return send_response(req);
        }
        return MHD_YES;
    }
    if (req->answered) {
        *upload_data_size = 0; /* drain whatever is still coming */
        return MHD_YES;
    }
    if (req->suspended) {
        /* Resumed by the worker pool: the handler has filled the response. */
        ASSERT(req->handled);
        req->suspended = false;
        return send_response(req);
    }
    if (*upload_data_size > 0) {
        /* libmicrohttpd refuses a response queued while a body is still arriving, so an
         * oversized chunked body is read and dropped, then answered 413 at its end. A body
         * that goes on far past the limit is cut off by closing the connection. */
        req->body_seen += *upload_data_size;
        if (req->body.len + *upload_data_size > s->cfg.max_body)
            req->body_too_large = true;
        if (!req->body_too_large)
            buf_append(&req->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        if (req->body_seen > 16 * s->cfg.max_body)
            return MHD_NO;
        return MHD_YES;
    }
    dispatch(req);
    if (req->suspended)
        return MHD_YES;
    return send_response(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct http_req *req = *req_cls;
    (void)conn;
    if (!req)
        return;
    if (s->cfg.access_log && log_enabled(s->cfg.log, LOG_INFO)) {
        struct log_line l;
        log_begin(s->cfg.log, &l, LOG_INFO, req->req_id, "request");
        log_str(&l, "method", req->method_str);
        log_str(&l, "path", req->path);
        log_int(&l, "status", req->answered ? req->res.status : 0);
        log_double(&l, "dur_ms", (double)(clock_monotonic_ns() - req->start_ns) / 1e6);
        log_int(&l, "bytes_in", (int64_t)req->body.len);
        log_int(&l, "bytes_out", (int64_t)req->res.len);
        log_str(&l, "remote", http_req_remote(req));
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            log_str(&l, "aborted",
                    toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
                    : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT  ? "client"
                                                                  : "error");
        log_end(s->cfg.log, &l);
    }
    req_free(req);
    *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct http_server *s = cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_printf(s->cfg.log, LOG_WARN, NULL, "libmicrohttpd: %s", msg);
}

void http_server_blocking_threads_per_cpu(struct http_server *s, unsigned per_cpu)
{
    ASSERT(per_cpu >= 1 && per_cpu <= 64 && !s->pool.threads);
    s->blocking_per_cpu = per_cpu;
}

void http_server_threads_per_cpu(struct http_server *s, unsigned per_cpu)
{
    ASSERT(per_cpu >= 1 && per_cpu <= 64);
    s->threads_per_cpu = per_cpu;
}

int http_server_start(struct http_server *s, struct err *err)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sslen;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE;
    const char *bind = s->cfg.bind && *s->cfg.bind ? s->cfg.bind : "0.0.0.0";
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, bind, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)s->cfg.port);
        sslen = sizeof(*v4);
    } else if (inet_pton(AF_INET6, bind, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)s->cfg.port);
        sslen = sizeof(*v6);
        flags |= MHD_USE_IPv6;
    } else {
        return err_set(err, ERR_INVALID, "bind address '%s' is not an IP address", bind);
    }
    (void)sslen;
    unsigned threads = s->cfg.threads;
    if (threads == 0)
        threads = cpu_count() * (s->threads_per_cpu ? s->threads_per_cpu : 1);
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)s->cfg.port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, s, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
        s->cfg.conn_timeout_s, MHD_OPTION_CONNECTION_LIMIT, s->cfg.conn_limit,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, s->cfg.backlog, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        s->cfg.conn_memory_limit,

        MHD_OPTION_END);
    if (!s->daemon)
        return err_set(err, ERR_UNAVAILABLE, "cannot listen on %s:%d (in use, or no permission)",
                       bind, s->cfg.port);
    pool_start(s);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : s->cfg.port;
    return 0;
}

void http_server_on_shutdown(struct http_server *s, void (*fn)(void *ctx), void *ctx)
{
    struct http_shutdown_hook *h = xcalloc(1, sizeof(*h)), **tail = &s->hooks;
    h->fn = fn;
    h->ctx = ctx;
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
}

void http_req_on_done(struct http_req *req, void (*fn)(void *ctx), void *ctx)
{
    ASSERT(!req->on_done);
    req->on_done = fn;
    req->on_done_ctx = ctx;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_shutdown(struct http_server *s, int grace_ms)
{
    if (!s->daemon)
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    for (struct http_shutdown_hook *h = s->hooks; h; h = h->next)
        h->fn(h->ctx);
    int64_t deadline = clock_monotonic_ms() + grace_ms;
    while (atomic_load(&s->inflight) > 0 && clock_monotonic_ms() < deadline)
        usleep(10 * 1000);
    /* Finish and resume every suspended request first: libmicrohttpd must not be stopped
     * with suspended connections. */
    pool_stop(s);
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    http_server_shutdown(s, 0);
    http_router_free(s->routes);
    while (s->hooks) {
        struct http_shutdown_hook *h = s->hooks;
        s->hooks = h->next;
        free(h);
    }
    free(s);
}

/* Request accessors that need the connection. */

enum http_method http_req_method(const struct http_req *req)
{
    return req->method;
}

const char *http_req_path(const struct http_req *req)
{
    return req->path;
}

const char *http_req_id(const struct http_req *req)
{
    return req->req_id;
}

struct arena *http_req_arena(struct http_req *req)
{
    return &req->arena;
}

const char *http_req_header(struct http_req *req, const char *name)
{
    if (req->headers) {
        for (size_t i = 0; i < req->nheaders; i++)
            if (strcasecmp(req->headers[i].key, name) == 0)
                return req->headers[i].value;
        return NULL;
    }
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_req_remote(struct http_req *req)
{
    if (req->remote[0])
        return req->remote;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->remote,
                  sizeof(req->remote));
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, req->remote,
                  sizeof(req->remote));
    else
        snprintf(req->remote, sizeof(req->remote), "unknown");
    return req->remote;
}

const char *http_req_client_ip(struct http_req *req)
{
    const char *peer = http_req_remote(req);
    if (strcmp(peer, "127.0.0.1") != 0 && strcmp(peer, "::1") != 0)
        return peer;
    const char *xff = http_req_header(req, "X-Forwarded-For");
    if (!xff || !*xff)
        return peer;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ')
        last++;
    size_t n = strcspn(last, " ");
    if (n == 0 || n >= 64)
        return peer;
    return arena_strndup(&req->arena, last, n);
}
