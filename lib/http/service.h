/* service.h - what both service binaries share at startup and shutdown: configuration,
 * logger, metrics, id generator, HTTP server with the ops endpoints, signal handling.
 * The composition of ports and adapters stays in each service's main.c. */
#ifndef LIB_HTTP_SERVICE_H
#define LIB_HTTP_SERVICE_H

#include "lib/base/config.h"
#include "lib/base/id.h"
#include "lib/http/http.h"
#include "lib/http/ops.h"

#include <signal.h>

/* Options every service has. Each service passes the env names and defaults that differ:
 * its port, node id (for ids unique across services) and name. */
#define SERVICE_COMMON_OPTIONS(port_env, port_def, node_env, node_def)                             \
    {"bind",                                                                                       \
     "THREADLY_BIND",                                                                              \
     CONFIG_STRING,                                                                                \
     "127.0.0.1",                                                                                  \
     0,                                                                                            \
     0,                                                                                            \
     "Address to listen on (IPv4 or IPv6 literal)."},                                              \
        {"port", port_env, CONFIG_INT, port_def, 0, 65535, "TCP port (0 picks a free one)."},      \
        {"data-dir",                                                                               \
         "THREADLY_DATA_DIR",                                                                      \
         CONFIG_STRING,                                                                            \
         "./data",                                                                                 \
         0,                                                                                        \
         0,                                                                                        \
         "Root data folder; the service keeps its files in a subfolder named after it."},          \
        {"threads",                                                                                \
         "THREADLY_THREADS",                                                                       \
         CONFIG_INT,                                                                               \
         "0",                                                                                      \
         0,                                                                                        \
         256,                                                                                      \
         "HTTP worker threads (0 = one per CPU; threadly-service on PostgreSQL: four per CPU)."},  \
        {"max-body",                                                                               \
         "THREADLY_MAX_BODY",                                                                      \
         CONFIG_INT,                                                                               \
         "1048576",                                                                                \
         1024,                                                                                     \
         1073741824,                                                                               \
         "Largest request body in bytes; larger ones get 413."},                                   \
        {"node-id",                                                                                \
         node_env,                                                                                 \
         CONFIG_INT,                                                                               \
         node_def,                                                                                 \
         0,                                                                                        \
         511,                                                                                      \
         "Node number in generated ids; unique per running service instance."},                    \
        {"log-level", "THREADLY_LOG_LEVEL",         CONFIG_STRING, "info", 0,                      \
         0,           "debug, info, warn or error."},                                              \
        {"access-log",                                                                             \
         "THREADLY_ACCESS_LOG",                                                                    \
         CONFIG_BOOL,                                                                              \
         "true",                                                                                   \
         0,                                                                                        \
         0,                                                                                        \
         "Log one line per HTTP request."},                                                        \
    {                                                                                              \
        "shutdown-grace-ms", "THREADLY_SHUTDOWN_GRACE_MS", CONFIG_INT, "10000", 0, 600000,         \
            "On SIGTERM, how long in-flight requests may take to finish."                          \
    }

struct service {
    const char *name;
    struct config config;
    struct logger log;
    struct metrics *metrics;
    struct idgen ids;
    struct http_server *http;
    struct http_ops ops;
    char *data_dir; /* <data-dir>/<subdir>, created at boot */
    sigset_t signals;
};

/* Parses the configuration, sets up logging, metrics, ids, the data folder and the HTTP
 * server (not started). Returns 0 to go on, or an exit status: 0 after --help is printed
 * (with *stop set), 2 for bad configuration, 1 for other failures. Signals SIGINT and SIGTERM
 * are blocked from here on, so call it before starting any thread. */
int service_boot(struct service *svc, const char *name, const char *subdir, const char *summary,
                 const struct config_option *opts, size_t nopts, int argc, char **argv, bool *stop);
/* Starts the HTTP server and logs where it listens. Returns 0 or 1. */
int service_listen(struct service *svc);
/* Blocks until SIGINT or SIGTERM, then shuts the HTTP server down gracefully. */
void service_wait(struct service *svc);
void service_release(struct service *svc);

#endif
