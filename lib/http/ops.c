/* ops.c - /health, /ready and /metrics. */
#include "lib/http/ops.h"

#include "lib/base/xalloc.h"

#include <string.h>
#include <unistd.h>

static void health(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    (void)ctx;
    static const char ok[] = "OK";
    http_res_static(res, 200, "text/plain; charset=utf-8", ok, sizeof(ok) - 1);
}

static void ready(struct http_req *req, struct http_res *res, void *ctx)
{
    struct http_ops *ops = ctx;
    json_t *checks = json_object();
    bool all = true;
    for (size_t i = 0; i < ops->nchecks; i++) {
        struct err err = {0};
        const struct http_ready_check *c = &ops->checks[i];
        int rc = c->check(c->ctx, &err);
        json_object_set_new(checks, c->name, json_string(rc == 0 ? "ok" : "down"));
        if (rc != 0) {
            all = false;
            log_printf(ops->log, LOG_WARN, http_req_id(req), "not ready: %s: %s", c->name, err.msg);
        }
    }
    json_t *body = json_pack("{s:s, s:o}", "status", all ? "ready" : "not ready", "checks", checks);
    if (!all)
        json_object_set_new(body, "error",
                            json_string("Service unavailable: a dependency is down"));
    http_res_json(res, all ? 200 : 503, body);
}

static void metrics(struct http_req *req, struct http_res *res, void *ctx)
{
    struct http_ops *ops = ctx;
    struct buf b = BUF_INIT;
    (void)req;
    metrics_format(ops->metrics, &b);
    size_t len;
    char *body = buf_detach(&b, &len);
    http_res_take(res, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

void http_ops_register(struct http_server *s, struct http_ops *ops)
{
    http_route(s, HTTP_GET, "/health", health, ops);
    http_route(s, HTTP_GET, "/ready", ready, ops);
    http_route(s, HTTP_GET, "/metrics", metrics, ops);
}

void http_ops_add_check(struct http_ops *ops, const char *name,
                        int (*check)(void *ctx, struct err *err), void *ctx)
{
    ASSERT(ops->nchecks < HTTP_OPS_MAX_CHECKS);
    ops->checks[ops->nchecks++] = (struct http_ready_check){name, check, ctx};
}

int http_ops_check_dir(void *ctx, struct err *err)
{
    const char *dir = ctx;
    if (access(dir, W_OK | X_OK) != 0)
        return err_set(err, ERR_UNAVAILABLE, "directory %s is not writable", dir);
    return 0;
}
