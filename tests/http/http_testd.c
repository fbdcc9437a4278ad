/* http_testd.c - a test server on lib/http alone: echo and slow routes that let the HTTP
 * tests check parameter parsing, routing and graceful shutdown over real sockets. Not a
 * product binary. */
#include "lib/http/service.h"

#include <stdlib.h>
#include <unistd.h>

static const struct config_option options[] = {
    SERVICE_COMMON_OPTIONS("HTTP_TESTD_PORT", "0", "HTTP_TESTD_NODE", "9"),
};

static json_t *values(struct http_req *req, const char *name)
{
    const char **v;
    size_t n = http_req_args(req, name, &v);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(v[i]));
    return arr;
}

static void echo(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)ctx;
    bool ok = true;
    bool sensitive = http_req_arg_bool(req, "sensitive", false, &ok);
    if (!ok) {
        http_res_error(res, 422, "Validation failed: sensitive is not a boolean");
        return;
    }
    const char *status = http_req_arg(req, "status");
    const char *id = http_req_path_param(req, "id");
    json_t *j =
        json_pack("{s:s, s:s, s:o, s:b, s:o, s:o, s:o}", "path", http_req_path(req), "request_id",
                  http_req_id(req), "status", status ? json_string(status) : json_null(),
                  "sensitive", sensitive, "media_ids", values(req, "media_ids"), "types",
                  values(req, "types"), "id", id ? json_string(id) : json_null());
    http_res_json(res, 200, j);
}

static void special(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    (void)ctx;
    http_res_json(res, 200, json_pack("{s:s}", "route", "special"));
}

static void slow(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)ctx;
    const char *ms = http_req_arg(req, "ms");
    usleep((useconds_t)(ms ? atoi(ms) : 500) * 1000);
    http_res_json(res, 200, json_pack("{s:b}", "done", 1));
}

int main(int argc, char **argv)
{
    struct service svc;
    bool stop;
    int rc = service_boot(&svc, "http-testd", "testd", "lib/http test server.", options,
                          sizeof(options) / sizeof(options[0]), argc, argv, &stop);
    if (stop)
        goto out;
    http_route(svc.http, HTTP_GET | HTTP_POST, "/echo", echo, NULL);
    http_route(svc.http, HTTP_GET | HTTP_PUT, "/items/:id", echo, NULL);
    http_route(svc.http, HTTP_GET, "/items/special", special, NULL);
    http_route(svc.http, HTTP_POST, "/slow", slow, NULL);
    rc = service_listen(&svc);
    if (rc == 0)
        service_wait(&svc);
out:
    service_release(&svc);
    return rc;
}
