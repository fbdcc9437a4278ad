/* stream_testd.c - a test server for lib/http's streaming hub alone: a fake authenticator
 * (token "tok-<account id>" is that account, anything else is refused) and test-only routes to
 * publish, from one or many threads. Not a product binary. */
#include "lib/http/service.h"
#include "lib/http/stream.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct config_option options[] = {
    SERVICE_COMMON_OPTIONS("STREAM_TESTD_PORT", "0", "STREAM_TESTD_NODE", "8"),
    {"stream-max-connections", NULL, CONFIG_INT, "10000", 1, 1000000, "Open streams in total."},
    {"stream-max-per-account", NULL, CONFIG_INT, "16", 1, 100000, "Open streams per account."},
    {"stream-send-buffer", NULL, CONFIG_INT, "1048576", 64, 1 << 30, "Bytes queued per client."},
    {"stream-heartbeat-ms", NULL, CONFIG_INT, "15000", 10, 3600000, "Heartbeat interval."},
};

/* "tok-<id>" may read everything; "tok-<id>-s" statuses only, "tok-<id>-n" notifications
 * only, "tok-<id>-0" nothing but the public streams. */
static int fake_auth(void *ctx, const char *token, uint64_t *account, unsigned *grants,
                     struct err *err)
{
    (void)ctx;
    char *end;
    if (strncmp(token, "tok-", 4) != 0 || token[4] < '1' || token[4] > '9')
        return err_set(err, ERR_FORBIDDEN, "bad token");
    unsigned long long id = strtoull(token + 4, &end, 10);
    if (strcmp(end, "") == 0)
        *grants = STREAM_GRANT_STATUSES | STREAM_GRANT_NOTIFICATIONS;
    else if (strcmp(end, "-s") == 0)
        *grants = STREAM_GRANT_STATUSES;
    else if (strcmp(end, "-n") == 0)
        *grants = STREAM_GRANT_NOTIFICATIONS;
    else if (strcmp(end, "-0") == 0)
        *grants = 0;
    else
        return err_set(err, ERR_FORBIDDEN, "bad token");
    *account = id;
    return 0;
}

/* POST /test/publish stream= account= event= payload= [threads= count=]: with threads, each
 * of `threads` threads publishes `count` events whose payload is {"t":thread,"n":i}. */
struct burst {
    struct stream_hub *hub;
    const char *stream, *event;
    uint64_t account;
    int thread, count;
    atomic_int *failed;
};

static void *burst_main(void *arg)
{
    struct burst *b = arg;
    for (int i = 0; i < b->count; i++) {
        char payload[64];
        snprintf(payload, sizeof(payload), "{\"t\":%d,\"n\":%d}", b->thread, i);
        struct err err = {0};
        if (stream_hub_publish(b->hub, b->stream, b->account, b->event, payload, &err) != 0)
            atomic_fetch_add(b->failed, 1);
    }
    return NULL;
}

static void publish(struct http_req *req, struct http_res *res, void *ctx)
{
    struct stream_hub *hub = ctx;
    const char *stream = http_req_arg(req, "stream");
    const char *event = http_req_arg(req, "event");
    const char *payload = http_req_arg(req, "payload");
    const char *acct = http_req_arg(req, "account");
    const char *threads = http_req_arg(req, "threads");
    uint64_t account = acct ? strtoull(acct, NULL, 10) : 0;
    if (threads) {
        const char *cnt = http_req_arg(req, "count");
        int n = atoi(threads), count = cnt ? atoi(cnt) : 1;
        if (n < 1 || n > 64 || count < 1) {
            http_res_error(res, 422, "bad threads or count");
            return;
        }
        pthread_t t[64];
        struct burst b[64];
        atomic_int failed = 0;
        for (int i = 0; i < n; i++) {
            b[i] = (struct burst){hub, stream, event, account, i, count, &failed};
            pthread_create(&t[i], NULL, burst_main, &b[i]);
        }
        for (int i = 0; i < n; i++)
            pthread_join(t[i], NULL);
        http_res_json(res, 200, json_pack("{s:i}", "failed", atomic_load(&failed)));
        return;
    }
    struct err err = {0};
    int rc = stream_hub_publish(hub, stream, account, event, payload, &err);
    if (rc != 0) {
        http_res_error(res, rc == ERR_INVALID ? 422 : 503, err.msg);
        return;
    }
    http_res_json(res, 200, json_pack("{s:i}", "failed", 0));
}

/* Just enough of /api/v1/instance for Mastodon.py to find the streaming API (at this host). */
static void instance(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    (void)ctx;
    http_res_json(res, 200,
                  json_pack("{s:s, s:s, s:s, s:{}}", "uri", "127.0.0.1", "title", "stream-testd",
                            "version", "4.2.0 (compatible; stream-testd)", "urls"));
}

static void connections(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    http_res_json(res, 200, json_pack("{s:i}", "open", (int)stream_hub_connections(ctx)));
}

int main(int argc, char **argv)
{
    struct service svc;
    struct stream_hub *hub = NULL;
    bool stop;
    int rc = service_boot(&svc, "stream-testd", "stream-testd", "lib/http streaming test server.",
                          options, sizeof(options) / sizeof(options[0]), argc, argv, &stop);
    if (stop)
        goto out;
    struct stream_hub_config sc = {
        .max_connections = (unsigned)config_int(&svc.config, "stream-max-connections"),
        .max_per_account = (unsigned)config_int(&svc.config, "stream-max-per-account"),
        .send_buffer = (size_t)config_int(&svc.config, "stream-send-buffer"),
        .heartbeat_ms = (unsigned)config_int(&svc.config, "stream-heartbeat-ms"),
        .auth = fake_auth,
        .log = &svc.log,
        .metrics = svc.metrics,
    };
    hub = stream_hub_new(svc.http, &sc);
    http_route(svc.http, HTTP_POST, "/test/publish", publish, hub);
    http_route(svc.http, HTTP_GET, "/test/connections", connections, hub);
    http_route(svc.http, HTTP_GET, "/api/v1/instance", instance, NULL);
    rc = service_listen(&svc);
    if (rc == 0)
        service_wait(&svc);
out:
    service_release(&svc);
    stream_hub_free(hub);
    return rc;
}
