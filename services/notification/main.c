/* main.c - notification-service's composition root: reads the configuration, wires the
 * adapters and runs the HTTP server until SIGINT/SIGTERM. No logic lives here. */
#include "lib/http/service.h"

static const struct config_option options[] = {
    SERVICE_COMMON_OPTIONS("THREADLY_NOTIFICATION_PORT", "9080", "THREADLY_NOTIFICATION_NODE_ID",
                           "2"),
};

int main(int argc, char **argv)
{
    struct service svc;
    bool stop;
    int rc = service_boot(&svc, "notification-service", "notification",
                          "notification-service: notifications, live streaming and email.", options,
                          sizeof(options) / sizeof(options[0]), argc, argv, &stop);
    if (stop)
        goto out;
    rc = service_listen(&svc);
    if (rc == 0)
        service_wait(&svc);
out:
    service_release(&svc);
    return rc;
}
