/* main.c - notification-service's composition root: reads the configuration, picks and wires
 * the adapters (store, token verifier, event feed consumer, streaming hub), and runs the HTTP
 * server until
 * SIGINT/SIGTERM. No logic lives here. */
#include "lib/auth/jwt.h"
#include "lib/base/pruner.h"
#include "lib/http/service.h"
#include "services/notification/adapters/feed/feed_consumer.h"
#include "services/notification/adapters/http/mail_http.h"
#include "services/notification/adapters/http/notifications_http.h"
#include "services/notification/adapters/json/event_decoder_json.h"
#include "services/notification/adapters/jwt/token_verifier_jwt.h"
#include "services/notification/adapters/kafka/kafka_events.h"
#include "services/notification/adapters/kafka/kafka_mail.h"
#include "services/notification/adapters/pgsql/mail_store_pgsql.h"
#include "services/notification/adapters/pgsql/notification_store_pgsql.h"
#include "services/notification/adapters/smtp/mail_sender.h"
#include "services/notification/adapters/smtp/mailer_smtp.h"
#include "services/notification/adapters/sqlite/mail_store_sqlite.h"
#include "services/notification/adapters/sqlite/notification_store_sqlite.h"
#include "services/notification/adapters/stream/live_stream_hub.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct config_option options[] = {
    SERVICE_COMMON_OPTIONS("THREADLY_NOTIFICATION_PORT", "9080", "THREADLY_NOTIFICATION_NODE_ID",
                           "2"),
    {"public-url", "THREADLY_PUBLIC_URL", CONFIG_STRING, "http://127.0.0.1:8000", 0, 0,
     "Base URL clients use (the gateway's), for the Link headers of paged lists."},
    {"db", "THREADLY_NOTIFICATION_DB", CONFIG_STRING, NULL, 0, 0,
     "Database: sqlite:PATH (default sqlite:<data-dir>/notification/notification.db) or a "
     "PostgreSQL URL postgres://user[:password]@host[:port]/dbname[?param=value...]."},
    {"jwt-public-key", "THREADLY_JWT_PUBLIC_KEY", CONFIG_STRING, NULL, 0, 0,
     "threadly-service's Ed25519 public key, to verify access tokens (default "
     "<data-dir>/threadly/jwt-ed25519.key.pub; read again while it does not exist yet)."},
    {"events-url", "THREADLY_EVENTS_URL", CONFIG_STRING, "http://127.0.0.1:8080/internal/v1/events",
     0, 0, "threadly-service's event feed, long-polled for domain events; 'off' consumes nothing."},
    {"internal-secret", "THREADLY_INTERNAL_SECRET", CONFIG_STRING, NULL, 0, 0,
     "Sent to the event feed as X-Threadly-Internal-Secret (threadly-service's "
     "--internal-secret)."},
    {"events-batch", "THREADLY_EVENTS_BATCH", CONFIG_INT, "500", 1, 1000,
     "Events asked for per feed request or Kafka poll, stored in one transaction."},
    {"events-wait", "THREADLY_EVENTS_WAIT", CONFIG_INT, "25", 0, 30,
     "Seconds a feed request waits for new events (long poll)."},
    {"events-backoff-max-ms", "THREADLY_EVENTS_BACKOFF_MAX_MS", CONFIG_INT, "10000", 10, 600000,
     "Longest pause between retries while the feed or the database fails (it doubles from "
     "100 ms)."},
    {"events-transport", "THREADLY_EVENTS_TRANSPORT", CONFIG_STRING, "feed", 0, 0,
     "Where events come from: 'feed' (--events-url, long-polled) or 'kafka' (consumer group "
     "--kafka-group on --kafka-bootstrap)."},
    {"kafka-bootstrap", "THREADLY_KAFKA_BOOTSTRAP", CONFIG_STRING, "127.0.0.1:9092", 0, 0,
     "Kafka brokers (host:port[,host:port...]) for --events-transport kafka."},
    {"kafka-group", "THREADLY_KAFKA_GROUP", CONFIG_STRING, "notification-service", 0, 0,
     "Kafka consumer group; its committed offsets are where consuming resumes."},
    {"kafka-topic-prefix", "THREADLY_KAFKA_TOPIC_PREFIX", CONFIG_STRING, NULL, 0, 0,
     "Put before every topic name (shared clusters, tests); the same as threadly-service's."},
    {"kafka-session-timeout-ms", "THREADLY_KAFKA_SESSION_TIMEOUT_MS", CONFIG_INT, "10000", 6000,
     300000,
     "How soon a member that died loses its partitions to the others (or to itself, "
     "restarted)."},
    {"kafka-partitions", "THREADLY_KAFKA_PARTITIONS", CONFIG_INT, "3", 1, 1000,
     "Partitions of each topic created when it is missing."},
    {"kafka-replication", "THREADLY_KAFKA_REPLICATION", CONFIG_INT, "1", 1, 16,
     "Replicas of each topic created when it is missing."},
    {"stream-max-connections", "THREADLY_STREAM_MAX_CONNECTIONS", CONFIG_INT, "10000", 1, 1000000,
     "Open streaming connections (WebSocket + SSE) in total; more get 429."},
    {"stream-max-per-account", "THREADLY_STREAM_MAX_PER_ACCOUNT", CONFIG_INT, "16", 1, 100000,
     "Open streaming connections of one account; more get 429."},
    {"stream-send-buffer", "THREADLY_STREAM_SEND_BUFFER", CONFIG_INT, "1048576", 1024, 1073741824,
     "Bytes queued for one streaming client before it is disconnected as too slow."},
    {"stream-heartbeat-ms", "THREADLY_STREAM_HEARTBEAT_MS", CONFIG_INT, "15000", 100, 3600000,
     "Interval of WebSocket pings and SSE :thump comments."},
    {"smtp-url", "THREADLY_SMTP_URL", CONFIG_STRING, NULL, 0, 0,
     "SMTP server for email: smtp://host[:port] or smtps://host[:port] (TLS from the start); "
     "unset or 'off': no email. The password of --smtp-user comes from THREADLY_SMTP_PASSWORD."},
    {"smtp-user", "THREADLY_SMTP_USER", CONFIG_STRING, NULL, 0, 0,
     "SMTP AUTH user; unset: no AUTH."},
    {"smtp-from", "THREADLY_SMTP_FROM", CONFIG_STRING, "Threadly <noreply@localhost.localdomain>",
     0, 0, "From header (and envelope sender) of every mail: \"Name <address>\"."},
    {"smtp-starttls", "THREADLY_SMTP_STARTTLS", CONFIG_BOOL, "false", 0, 0,
     "With smtp://, require STARTTLS before AUTH and the message."},
    {"mail-flood-window", "THREADLY_MAIL_FLOOD_WINDOW", CONFIG_INT, "3600", 0, 604800,
     "At most one notification mail per account and kind in this many seconds; the rest are "
     "summed up in the next one."},
    {"mail-max-attempts", "THREADLY_MAIL_MAX_ATTEMPTS", CONFIG_INT, "10", 1, 1000,
     "Attempts before a mail that keeps failing transiently is dead-lettered."},
    {"mail-backoff-max", "THREADLY_MAIL_BACKOFF_MAX", CONFIG_INT, "900", 1, 86400,
     "Longest delay between attempts, in seconds (it doubles from 1 s)."},
    {"email-token-ttl", "THREADLY_EMAIL_TOKEN_TTL", CONFIG_INT, "86400", 1, 31536000,
     "Lifetime of the confirmation and reset links in seconds, as threadly-service's (only "
     "shown in the mails)."},
    {"title", "THREADLY_TITLE", CONFIG_STRING, "Threadly", 0, 0, "Instance title, in mails."},
    {"processed-events-retention-s", "THREADLY_PROCESSED_EVENTS_RETENTION_S", CONFIG_INT, "604800",
     0, 315360000,
     "The ids of applied events (which make a redelivered event change nothing) are forgotten "
     "after this many seconds; 0 keeps them for ever. Redeliveries come within seconds (a "
     "batch not committed), so days are plenty."},
    {"processed-events-prune-interval-s", "THREADLY_PROCESSED_EVENTS_PRUNE_INTERVAL_S", CONFIG_INT,
     "600", 1, 86400, "How often old applied event ids are forgotten."},
};

/* The pruner of processed event ids (lib/base/pruner.h) on the store. */
static int prune_processed(void *ctx, int64_t before_ms, int limit, int64_t *deleted,
                           struct err *err)
{
    return notification_store_prune_processed(ctx, before_ms, limit, deleted, err);
}

#define KAFKA_MAIL_TIMEOUT_MS 5000

/* Starts the Kafka consumer and, with email on (core->mail), the mail consumer of mail-events
 * (group <kafka-group>-mail). 0, or ERR_INVALID (err set). */
static int start_kafka(struct service *svc, struct notif_core *core, struct kafka_events **out,
                       struct kafka_mail **mail_out, struct err *err)
{
    const char *bootstrap = config_str(&svc->config, "kafka-bootstrap");
    const char *group = config_str(&svc->config, "kafka-group");
    if (!bootstrap || !*bootstrap)
        return err_set(err, ERR_INVALID, "--kafka-bootstrap is empty");
    if (!group || !*group)
        return err_set(err, ERR_INVALID, "--kafka-group is empty");
    struct kafka_events_config kcfg = {
        .kafka = {.bootstrap = bootstrap,
                  .client_id = "notification-service",
                  .topic_prefix = config_str(&svc->config, "kafka-topic-prefix"),
                  .group_id = group,
                  .session_timeout_ms = (int)config_int(&svc->config, "kafka-session-timeout-ms")},
        .batch = (int)config_int(&svc->config, "events-batch"),
        .backoff_min_ms = 100,
        .backoff_max_ms = (int)config_int(&svc->config, "events-backoff-max-ms"),
        .partitions = (int)config_int(&svc->config, "kafka-partitions"),
        .replication = (int)config_int(&svc->config, "kafka-replication"),
        .mail = core->mail,
        .timeout_ms = KAFKA_MAIL_TIMEOUT_MS,
    };
    if (kcfg.backoff_min_ms > kcfg.backoff_max_ms)
        kcfg.backoff_min_ms = kcfg.backoff_max_ms;
    if (core->mail) {
        char mail_group[512];
        snprintf(mail_group, sizeof(mail_group), "%s-mail", group);
        struct kafka_mail_config mcfg = {
            .kafka = kcfg.kafka,
            .batch = kcfg.batch,
            .backoff_min_ms = kcfg.backoff_min_ms,
            .backoff_max_ms = kcfg.backoff_max_ms,
            .partitions = kcfg.partitions,
            .replication = kcfg.replication,
            .timeout_ms = KAFKA_MAIL_TIMEOUT_MS,
        };
        mcfg.kafka.group_id = mail_group;
        *mail_out = kafka_mail_start(core->mail, &mcfg, core->ids, &svc->log, svc->metrics);
        http_ops_add_check(&svc->ops, "kafka_mail", kafka_mail_ready, *mail_out);
    }
    *out = kafka_events_start(core, &kcfg, &svc->log, svc->metrics);
    http_ops_add_check(&svc->ops, "kafka", kafka_events_ready, *out);
    return 0;
}

struct notif_db {
    struct sqlite_db *sqlite;
    struct pgsql_db *pgsql;
};

static int store_ready(void *ctx, struct err *err)
{
    return notification_store_ping(ctx, err);
}

/* Opens the store named by --db. Adapters are chosen by name here and nowhere else. */
static int open_db(struct service *svc, struct notif_core *core, struct notif_db *out,
                   struct err *err)
{
    const char *db = config_str(&svc->config, "db");
    char path[4096];
    if (!db) {
        snprintf(path, sizeof(path), "%s/notification.db", svc->data_dir);
    } else if (strncmp(db, "sqlite:", 7) == 0 && db[7]) {
        snprintf(path, sizeof(path), "%s", db + 7);
    } else if (strncmp(db, "postgres://", 11) == 0 || strncmp(db, "postgresql://", 13) == 0) {
        out->pgsql = notification_pgsql_open(db, err);
        if (!out->pgsql)
            return err->code;
        core->store = notification_store_pgsql(out->pgsql);
        log_printf(&svc->log, LOG_INFO, NULL, "database pgsql (%zu migrations applied)",
                   pgsql_db_migrations_applied(out->pgsql));
        return 0;
    } else {
        return err_set(err, ERR_INVALID, "--db: '%s' is neither sqlite:PATH nor postgres://...",
                       db);
    }
    out->sqlite = notification_sqlite_open(path, err);
    if (!out->sqlite)
        return err->code;
    core->store = notification_store_sqlite(out->sqlite);
    log_printf(&svc->log, LOG_INFO, NULL, "database sqlite:%s (%zu migrations applied)", path,
               sqlite_db_migrations_applied(out->sqlite));
    return 0;
}

/* Email: the SMTP mailer and the outbox on the notification database, when --smtp-url is set.
 * Returns 0 (mail on, or off when not configured), or ERR_INVALID with err set. */
static int open_mail(struct service *svc, struct notif_db *db, const char *base_url,
                     struct mail_outbox *o, bool *on, struct err *err)
{
    const char *url = config_str(&svc->config, "smtp-url");
    *on = false;
    if (!url || !*url || strcmp(url, "off") == 0) {
        log_printf(&svc->log, LOG_INFO, NULL, "--smtp-url unset: no email");
        return 0;
    }
    struct mailer_smtp_config cfg = {.url = url,
                                     .user = config_str(&svc->config, "smtp-user"),
                                     .password = getenv("THREADLY_SMTP_PASSWORD"),
                                     .starttls = config_bool(&svc->config, "smtp-starttls")};
    if (mailer_smtp_open(&cfg, &o->mailer, err))
        return err->code;
    o->store = db->sqlite ? mail_store_sqlite(db->sqlite) : mail_store_pgsql(db->pgsql);
    o->cfg = (struct mail_outbox_config){
        .from = config_str(&svc->config, "smtp-from"),
        .public_url = base_url,
        .instance = config_str(&svc->config, "title"),
        .flood_window_ms = config_int(&svc->config, "mail-flood-window") * 1000,
        .max_attempts = (int)config_int(&svc->config, "mail-max-attempts"),
        .backoff_base_ms = 1000,
        .backoff_max_ms = config_int(&svc->config, "mail-backoff-max") * 1000,
        .token_ttl_hours = (int)((config_int(&svc->config, "email-token-ttl") + 3599) / 3600),
    };
    if (o->cfg.backoff_max_ms < o->cfg.backoff_base_ms)
        o->cfg.backoff_max_ms = o->cfg.backoff_base_ms;
    o->clock = &clock_system;
    o->random = &random_system;
    o->ids = &svc->ids;
    if (mail_outbox_init(o, err)) {
        mailer_close(&o->mailer);
        return err->code;
    }
    *on = true;
    log_printf(&svc->log, LOG_INFO, NULL, "email via %s", url);
    return 0;
}

int main(int argc, char **argv)
{
    struct service svc;
    struct notif_core core = {0};
    struct notif_db db = {0};
    struct notifications_http api = {0};
    struct feed_consumer *consumer = NULL;
    struct kafka_events *kafka = NULL;
    struct kafka_mail *kafka_mail = NULL;
    struct live_stream_hub *live = NULL;
    struct mail_outbox mail = {0};
    struct mail_http mail_api = {0};
    struct mail_sender *sender = NULL;
    struct pruner *pruner = NULL;
    bool mail_on = false;
    struct err err = {0};
    char base_url[1024], key_path[4096];
    bool stop, curl_inited = false;
    int rc = service_boot(&svc, "notification-service", "notification",
                          "notification-service: notifications, live streaming and email.", options,
                          sizeof(options) / sizeof(options[0]), argc, argv, &stop);
    if (stop)
        goto out;
    rc = 2;
    const char *public_url = config_str(&svc.config, "public-url");
    if (strncmp(public_url, "http://", 7) != 0 && strncmp(public_url, "https://", 8) != 0) {
        log_printf(&svc.log, LOG_ERROR, NULL, "--public-url: '%s' is not an http(s) URL",
                   public_url);
        goto out;
    }
    snprintf(base_url, sizeof(base_url), "%s", public_url);
    for (size_t n = strlen(base_url); n > 0 && base_url[n - 1] == '/'; n--)
        base_url[n - 1] = '\0';
    const char *events_url = config_str(&svc.config, "events-url");
    const char *transport = config_str(&svc.config, "events-transport");
    bool use_kafka = strcmp(transport, "kafka") == 0;
    if (!use_kafka && strcmp(transport, "feed") != 0) {
        log_printf(&svc.log, LOG_ERROR, NULL, "--events-transport: '%s' is neither feed nor kafka",
                   transport);
        goto out;
    }
    bool consume = !use_kafka && strcmp(events_url, "off") != 0;
    if (consume && strncmp(events_url, "http://", 7) != 0 &&
        strncmp(events_url, "https://", 8) != 0) {
        log_printf(&svc.log, LOG_ERROR, NULL,
                   "--events-url: '%s' is neither an http(s) URL nor "
                   "off",
                   events_url);
        goto out;
    }
    rc = 1;
    if (jwt_init(&err))
        goto fail;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        err_set(&err, ERR_INTERNAL, "curl_global_init failed");
        goto fail;
    }
    curl_inited = true;
    if (open_db(&svc, &core, &db, &err) != 0) {
        rc = err.code == ERR_INVALID ? 2 : 1;
        goto fail;
    }
    const char *key = config_str(&svc.config, "jwt-public-key");
    if (key)
        snprintf(key_path, sizeof(key_path), "%s", key);
    else
        snprintf(key_path, sizeof(key_path), "%s/threadly/jwt-ed25519.key.pub",
                 config_str(&svc.config, "data-dir"));
    core.tokens = token_verifier_jwt_new(key_path);
    core.decoder = event_decoder_json();
    core.clock = &clock_system;
    core.ids = &svc.ids;
    core.log = &svc.log;

    api.core = &core;
    api.base_url = base_url;
    api.log = &svc.log;
    notifications_http_register(svc.http, &api);
    struct stream_hub_config scfg = {
        .max_connections = (unsigned)config_int(&svc.config, "stream-max-connections"),
        .max_per_account = (unsigned)config_int(&svc.config, "stream-max-per-account"),
        .send_buffer = (size_t)config_int(&svc.config, "stream-send-buffer"),
        .heartbeat_ms = (unsigned)config_int(&svc.config, "stream-heartbeat-ms"),
        .log = &svc.log,
        .metrics = svc.metrics,
    };
    live = live_stream_hub_new(svc.http, &core, &scfg);
    core.live = live_stream_hub_port(live); /* before the consumer starts */
    if (open_mail(&svc, &db, base_url, &mail, &mail_on, &err)) {
        rc = 2;
        goto fail;
    }
    if (mail_on) {
        core.mail = &mail;
        mail_api.core = &core;
        mail_api.log = &svc.log;
        mail_http_register(svc.http, &mail_api);
    }
    http_ops_add_check(&svc.ops, "database", store_ready, &core.store);
    http_ops_add_check(&svc.ops, "jwt_public_key", token_verifier_jwt_ready, core.tokens.ctx);
    if (use_kafka) {
        if (start_kafka(&svc, &core, &kafka, &kafka_mail, &err) != 0) {
            rc = 2;
            goto fail;
        }
    } else if (consume) {
        struct feed_consumer_config fcfg = {
            .url = events_url,
            .secret = config_str(&svc.config, "internal-secret"),
            .limit = (int)config_int(&svc.config, "events-batch"),
            .wait_s = (int)config_int(&svc.config, "events-wait"),
            .backoff_min_ms = 100,
            .backoff_max_ms = (int)config_int(&svc.config, "events-backoff-max-ms"),
        };
        if (fcfg.backoff_min_ms > fcfg.backoff_max_ms)
            fcfg.backoff_min_ms = fcfg.backoff_max_ms;
        consumer = feed_consumer_start(&core, &fcfg, &svc.log, svc.metrics);
        http_ops_add_check(&svc.ops, "event_feed", feed_consumer_ready, consumer);
    } else {
        log_printf(&svc.log, LOG_INFO, NULL, "--events-url off: consuming no events");
    }

    /* After the Kafka mail adapter set the outbox's dead_letter hook, which the sender calls. */
    if (mail_on)
        sender = mail_sender_start(&mail, &svc.log, svc.metrics);
    if (config_int(&svc.config, "processed-events-retention-s") > 0) {
        struct pruner_config pc = {
            .what = "processed events pruner",
            .metric = "notification_processed_events",
            .rows = "Applied event ids",
            .retention_ms = config_int(&svc.config, "processed-events-retention-s") * 1000,
            .interval_ms = config_int(&svc.config, "processed-events-prune-interval-s") * 1000,
            .batch = 5000};
        pruner =
            pruner_start(&pc, prune_processed, &core.store, &clock_system, &svc.log, svc.metrics);
    }

    rc = service_listen(&svc);
    if (rc == 0)
        service_wait(&svc);
    goto out;
fail:
    log_printf(&svc.log, LOG_ERROR, NULL, "cannot start: %s", err.msg);
out:
    feed_consumer_stop(consumer);
    kafka_events_stop(kafka);
    kafka_mail_stop(kafka_mail);
    mail_sender_stop(sender); /* after the consumers: nothing queues mail any more */
    pruner_stop(pruner);
    service_release(&svc); /* stops the HTTP server before its users are freed */
    kafka_events_free(kafka);
    kafka_mail_free(kafka_mail); /* after the sender: its dead_letter hook publishes */
    live_stream_hub_free(live);
    notification_store_close(&core.store);
    if (mail_on) {
        mailer_close(&mail.mailer);
        mail_store_close(&mail.store);
        mail_outbox_release(&mail);
    }
    sqlite_db_close(db.sqlite);
    pgsql_db_close(db.pgsql);
    if (core.tokens.ops)
        token_verifier_jwt_free(&core.tokens);
    if (curl_inited)
        curl_global_cleanup();
    return rc;
}
