/* ops.h - the operational endpoints every service serves: GET /health (liveness), GET /ready
 * (each dependency checked, 503 if one is down) and GET /metrics (Prometheus text). */
#ifndef LIB_HTTP_OPS_H
#define LIB_HTTP_OPS_H

#include "lib/http/http.h"

#define HTTP_OPS_MAX_CHECKS 8

/* A readiness check: returns 0 when the dependency is usable, else an error code with err
 * explaining (logged, not sent to the client). Runs on a server thread: keep it quick. */
struct http_ready_check {
    const char *name;
    int (*check)(void *ctx, struct err *err);
    void *ctx;
};

struct http_ops {
    struct metrics *metrics;
    struct logger *log;
    size_t nchecks;
    struct http_ready_check checks[HTTP_OPS_MAX_CHECKS];
};

/* Registers the three routes on s; ops must outlive the server. */
void http_ops_register(struct http_server *s, struct http_ops *ops);
void http_ops_add_check(struct http_ops *ops, const char *name,
                        int (*check)(void *ctx, struct err *err), void *ctx);

/* A ready check that the directory ctx (a path) exists and is writable. */
int http_ops_check_dir(void *ctx, struct err *err);

#endif
