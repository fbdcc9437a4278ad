/* main.c - threadly-service's composition root: reads the configuration, wires the adapters
 * and runs the HTTP server until SIGINT/SIGTERM. No logic lives here. */
#include "lib/base/xalloc.h"
#include "lib/http/service.h"
#include "services/threadly/adapters/http/instance_http.h"
#include "services/threadly/domain/instance.h"

static const struct config_option options[] = {
    SERVICE_COMMON_OPTIONS("THREADLY_CORE_PORT", "8080", "THREADLY_CORE_NODE_ID", "1"),
    {"public-url", "THREADLY_PUBLIC_URL", CONFIG_STRING, "http://127.0.0.1:8000", 0, 0,
     "Base URL clients use (the gateway's), e.g. https://threadly.example; gives the instance "
     "domain and the streaming URL."},
    {"title", "THREADLY_TITLE", CONFIG_STRING, "Threadly", 0, 0, "Instance title."},
    {"description", "THREADLY_DESCRIPTION", CONFIG_STRING,
     "A light and fast Threads-like social server.", 0, 0, "Short plain-text description."},
    {"contact-email", "THREADLY_CONTACT_EMAIL", CONFIG_STRING, "", 0, 0,
     "Contact address shown in the instance information."},
    {"registrations", "THREADLY_REGISTRATIONS", CONFIG_BOOL, "true", 0, 0,
     "Whether new accounts may sign up."},
    {"max-characters", "THREADLY_MAX_CHARACTERS", CONFIG_INT, "500", 1, 100000,
     "Longest status, in characters."},
};

int main(int argc, char **argv)
{
    struct service svc;
    struct instance_settings settings = {0};
    struct instance_stats stats = {0}; /* no accounts or statuses are stored yet */
    struct instance_http instance = {0};
    struct err err = {0};
    bool stop;
    int rc = service_boot(&svc, "threadly-service", "threadly",
                          "threadly-service: accounts, statuses, follows and timelines "
                          "(Mastodon client API).",
                          options, sizeof(options) / sizeof(options[0]), argc, argv, &stop);
    if (stop)
        goto out;

    if (instance_settings_set_url(&settings, config_str(&svc.config, "public-url"), &err)) {
        log_printf(&svc.log, LOG_ERROR, NULL, "--public-url: %s", err.msg);
        rc = 2;
        goto out;
    }
    settings.title = config_str(&svc.config, "title");
    settings.short_description = config_str(&svc.config, "description");
    settings.description = settings.short_description;
    settings.email = config_str(&svc.config, "contact-email");
    settings.registrations = config_bool(&svc.config, "registrations");
    settings.approval_required = false;
    settings.max_characters = (int)config_int(&svc.config, "max-characters");
    settings.max_media_attachments = 4;
    settings.characters_reserved_per_url = 23;
    instance_http_register(svc.http, &instance, &settings, &stats);

    rc = service_listen(&svc);
    if (rc == 0)
        service_wait(&svc);
out:
    service_release(&svc);
    instance_http_release(&instance);
    return rc;
}
