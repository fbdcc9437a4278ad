/* service.c - shared boot and shutdown of the service binaries. */
#include "lib/http/service.h"

#include "lib/base/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_p(const char *path)
{
    char *copy = xstrdup(path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0750) != 0 && errno != EEXIST) {
            free(copy);
            return -1;
        }
        *p = '/';
    }
    int rc = mkdir(copy, 0750) != 0 && errno != EEXIST ? -1 : 0;
    free(copy);
    return rc;
}

static double log_dropped_metric(void *ctx)
{
    return (double)log_dropped(ctx);
}

int service_boot(struct service *svc, const char *name, const char *subdir, const char *summary,
                 const struct config_option *opts, size_t nopts, int argc, char **argv, bool *stop)
{
    struct err err = {0};
    memset(svc, 0, sizeof(*svc));
    svc->name = name;
    *stop = false;
    int rc = config_load(&svc->config, opts, nopts, argc, argv, NULL, &err);
    if (rc == CONFIG_HELP) {
        config_usage(opts, nopts, name, summary, stdout);
        *stop = true;
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        *stop = true;
        return 2;
    }
    enum log_level level;
    if (!log_level_parse(config_str(&svc->config, "log-level"), &level)) {
        fprintf(stderr, "%s: --log-level: '%s' is not debug, info, warn or error\n", name,
                config_str(&svc->config, "log-level"));
        *stop = true;
        return 2;
    }
    /* Block the stop signals in every thread; service_wait takes them with sigwait. Before the
     * first thread (the log writer) starts: a thread that does not block SIGTERM can be the one
     * the kernel hands it to, and then its default action kills the process instead of a
     * graceful stop (seen as "exited with -15" when SIGTERM came while the main thread was not
     * in sigwait yet, or was between two sigwait calls after SIGSTOP/SIGCONT). */
    sigemptyset(&svc->signals);
    sigaddset(&svc->signals, SIGINT);
    sigaddset(&svc->signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &svc->signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_init(&svc->log, name, level, STDERR_FILENO, &clock_system);
    log_start_async(&svc->log, 4 << 20);
    svc->metrics = metrics_new();
    metrics_add_process(svc->metrics);
    metrics_func(svc->metrics, METRIC_COUNTER, "log_lines_dropped_total",
                 "Log lines dropped because the log buffer was full.", log_dropped_metric,
                 &svc->log);
    idgen_init(&svc->ids, (unsigned)config_int(&svc->config, "node-id"), &clock_system);

    const char *root = config_str(&svc->config, "data-dir");
    size_t n = strlen(root) + strlen(subdir) + 2;
    svc->data_dir = xmalloc(n);
    snprintf(svc->data_dir, n, "%s/%s", root, subdir);
    if (mkdir_p(svc->data_dir) != 0) {
        log_printf(&svc->log, LOG_ERROR, NULL, "cannot create data folder %s: %s", svc->data_dir,
                   strerror(errno));
        *stop = true;
        return 1;
    }

    struct http_server_config hc;
    http_server_config_defaults(&hc);
    hc.bind = config_str(&svc->config, "bind");
    hc.port = (int)config_int(&svc->config, "port");
    hc.threads = (unsigned)config_int(&svc->config, "threads");
    hc.max_body = (size_t)config_int(&svc->config, "max-body");
    hc.access_log = config_bool(&svc->config, "access-log");
    hc.log = &svc->log;
    hc.metrics = svc->metrics;
    svc->http = http_server_new(&hc);

    svc->ops.metrics = svc->metrics;
    svc->ops.log = &svc->log;
    http_ops_register(svc->http, &svc->ops);
    http_ops_add_check(&svc->ops, "data_dir", http_ops_check_dir, svc->data_dir);
    return 0;
}

int service_listen(struct service *svc)
{
    struct err err = {0};
    if (http_server_start(svc->http, &err) != 0) {
        log_printf(&svc->log, LOG_ERROR, NULL, "%s", err.msg);
        return 1;
    }
    struct log_line l;
    log_begin(&svc->log, &l, LOG_INFO, NULL, "listening");
    log_str(&l, "bind", config_str(&svc->config, "bind"));
    log_int(&l, "port", http_server_port(svc->http));
    log_str(&l, "data_dir", svc->data_dir);
    log_int(&l, "pid", (int64_t)getpid());
    log_end(&svc->log, &l);
    return 0;
}

void service_wait(struct service *svc)
{
    int sig = 0;
    while (sigwait(&svc->signals, &sig) != 0)
        ;
    log_printf(&svc->log, LOG_INFO, NULL, "received %s, shutting down",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_server_shutdown(svc->http, (int)config_int(&svc->config, "shutdown-grace-ms"));
    log_printf(&svc->log, LOG_INFO, NULL, "stopped");
}

void service_release(struct service *svc)
{
    http_server_free(svc->http);
    log_stop_async(&svc->log);
    metrics_free(svc->metrics);
    free(svc->data_dir);
    config_release(&svc->config);
    svc->http = NULL;
    svc->metrics = NULL;
    svc->data_dir = NULL;
}
