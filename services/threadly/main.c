/* main.c - threadly-service's composition root: reads the configuration, picks and wires the
 * adapters, and runs the HTTP server until SIGINT/SIGTERM. No logic lives here. */
#include "lib/base/random.h"
#include "lib/base/ratelimit.h"
#include "lib/base/ttlmap.h"
#include "lib/base/xalloc.h"
#include "lib/http/service.h"
#include "services/threadly/adapters/cache/home_feed_tail.h"
#include "services/threadly/adapters/cache/token_signer_cache.h"
#include "services/threadly/adapters/cache/token_store_cache.h"
#include "services/threadly/adapters/http/api.h"
#include "services/threadly/adapters/http/events_feed_http.h"
#include "services/threadly/adapters/http/instance_http.h"
#include "services/threadly/adapters/kafka/outbox_relay.h"
#include "services/threadly/adapters/maint/outbox_pruner.h"
#include "services/threadly/adapters/mem/entity_cache_mem.h"
#include "services/threadly/adapters/mem/home_feed_mem.h"
#include "services/threadly/adapters/pgsql/db_pgsql.h"
#include "services/threadly/adapters/pgsql/stores_pgsql.h"
#include "services/threadly/adapters/sodium/crypto_sodium.h"
#include "services/threadly/adapters/sqlite/db_sqlite.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"
#include "services/threadly/app/auth.h"
#include "services/threadly/domain/instance.h"

#include <stdio.h>
#include <string.h>

static const struct config_option options[] = {
    SERVICE_COMMON_OPTIONS("THREADLY_CORE_PORT", "8080", "THREADLY_CORE_NODE_ID", "1"),
    {"public-url", "THREADLY_PUBLIC_URL", CONFIG_STRING, "http://127.0.0.1:8000", 0, 0,
     "Base URL clients use (the gateway's), e.g. https://threadly.example; gives the instance "
     "domain and the streaming URL."},
    {"db", "THREADLY_DB", CONFIG_STRING, NULL, 0, 0,
     "Database: sqlite:PATH (default sqlite:<data-dir>/threadly/threadly.db) or a PostgreSQL "
     "URL postgres://user[:password]@host[:port]/dbname[?param=value...]."},
    {"jwt-key", "THREADLY_JWT_KEY", CONFIG_STRING, NULL, 0, 0,
     "Ed25519 key signing access tokens (created if absent; default "
     "<data-dir>/threadly/jwt-ed25519.key; the public half is written beside it as .pub)."},
    {"token-ttl", "THREADLY_TOKEN_TTL", CONFIG_INT, "0", 0, 315360000,
     "Access token lifetime in seconds; 0 = tokens do not expire (Mastodon clients cannot "
     "refresh them)."},
    {"argon2-ops", "THREADLY_ARGON2_OPS", CONFIG_INT, "2", 1, 10,
     "Argon2id iterations for password hashes."},
    {"argon2-mem-kib", "THREADLY_ARGON2_MEM_KIB", CONFIG_INT, "19456", 8, 1048576,
     "Argon2id memory per hash in KiB (tests use the minimum, 8)."},
    {"login-limit", "THREADLY_LOGIN_LIMIT", CONFIG_INT, "25", 1, 1000000,
     "Password logins (POST /oauth/token) allowed per client IP in 5 minutes."},
    {"signup-limit", "THREADLY_SIGNUP_LIMIT", CONFIG_INT, "5", 1, 1000000,
     "Sign-ups (POST /api/v1/accounts) allowed per client IP in 30 minutes."},
    {"title", "THREADLY_TITLE", CONFIG_STRING, "Threadly", 0, 0, "Instance title."},
    {"description", "THREADLY_DESCRIPTION", CONFIG_STRING,
     "A light and fast Threads-like social server.", 0, 0, "Short plain-text description."},
    {"contact-email", "THREADLY_CONTACT_EMAIL", CONFIG_STRING, "", 0, 0,
     "Contact address shown in the instance information."},
    {"registrations", "THREADLY_REGISTRATIONS", CONFIG_BOOL, "true", 0, 0,
     "Whether new accounts may sign up."},
    {"max-characters", "THREADLY_MAX_CHARACTERS", CONFIG_INT, "500", 1, 100000,
     "Longest status, in characters."},
    {"require-email-confirmation", "THREADLY_REQUIRE_EMAIL_CONFIRMATION", CONFIG_STRING, "auto", 0,
     0,
     "Whether an account must confirm its email (the link of the confirmation mail) before it "
     "can log in: true, false, or auto = false with a SQLite database (the embedded profile), "
     "true with PostgreSQL."},
    {"email-token-ttl", "THREADLY_EMAIL_TOKEN_TTL", CONFIG_INT, "86400", 1, 31536000,
     "Lifetime in seconds of the confirmation and password reset links."},
    {"password-reset-limit", "THREADLY_PASSWORD_RESET_LIMIT", CONFIG_INT, "5", 1, 1000000,
     "Password reset requests (POST /auth/password) allowed per client IP in 30 minutes."},
    {"internal-secret", "THREADLY_INTERNAL_SECRET", CONFIG_STRING, NULL, 0, 0,
     "Shared secret for GET /internal/v1/events (header X-Threadly-Internal-Secret); unset: "
     "only loopback peers not relayed by a proxy may read the event feed."},
    {"events-transport", "THREADLY_EVENTS_TRANSPORT", CONFIG_STRING, "feed", 0, 0,
     "Where the outbox goes: 'feed' (GET /internal/v1/events only) or 'kafka' (also relayed to "
     "Kafka by a relay thread; the feed keeps working)."},
    {"kafka-bootstrap", "THREADLY_KAFKA_BOOTSTRAP", CONFIG_STRING, "127.0.0.1:9092", 0, 0,
     "Kafka brokers (host:port[,host:port...]) for --events-transport kafka."},
    {"kafka-topic-prefix", "THREADLY_KAFKA_TOPIC_PREFIX", CONFIG_STRING, NULL, 0, 0,
     "Put before every topic name (shared clusters, tests); notification-service must use the "
     "same."},
    {"kafka-partitions", "THREADLY_KAFKA_PARTITIONS", CONFIG_INT, "3", 1, 1000,
     "Partitions of each topic the relay creates when it is missing."},
    {"kafka-replication", "THREADLY_KAFKA_REPLICATION", CONFIG_INT, "1", 1, 16,
     "Replicas of each topic the relay creates when it is missing."},
    {"kafka-timeout-ms", "THREADLY_KAFKA_TIMEOUT_MS", CONFIG_INT, "5000", 1000, 300000,
     "How long the relay waits for the broker to acknowledge a batch before retrying it."},
    {"home-feed-size", "THREADLY_HOME_FEED_SIZE", CONFIG_INT, "400", 0, 100000,
     "Status ids of each home timeline kept in memory (older pages come from the database); "
     "0: no home feed cache."},
    {"home-feed-accounts", "THREADLY_HOME_FEED_ACCOUNTS", CONFIG_INT, "5000", 1, 10000000,
     "Home feeds kept in memory at most; the least recently read is dropped first."},
    {"home-feed-tail-ms", "THREADLY_HOME_FEED_TAIL_MS", CONFIG_INT, "200", 1, 60000,
     "How often the outbox is read for other processes' writes to the home feeds and the "
     "entity cache."},
    {"entity-cache-mb", "THREADLY_ENTITY_CACHE_MB", CONFIG_INT, "8", 0, 65536,
     "Memory for statuses and accounts kept to render (GET /api/v1/statuses/:id, home pages, "
     "authors); the least recently read are dropped first. 0: no entity cache."},
    {"outbox-retention-hours", "THREADLY_OUTBOX_RETENTION_HOURS", CONFIG_INT, "168", 0, 87600,
     "Outbox rows (domain events) older than this are deleted (with Kafka, once relayed); "
     "0 keeps them for ever. A consumer away for longer misses what was deleted meanwhile, as "
     "with Kafka's own retention."},
    {"outbox-prune-interval-s", "THREADLY_OUTBOX_PRUNE_INTERVAL_S", CONFIG_INT, "600", 1, 86400,
     "How often old outbox rows are deleted."},
};

static double entity_stat(struct entity_cache *c, int which)
{
    struct entity_cache_stats st;
    entity_cache_stats(c, &st);
    double v[] = {(double)st.hits,      (double)st.misses,     (double)st.invalidations,
                  (double)st.evictions, (double)st.stale_puts, (double)st.statuses,
                  (double)st.accounts,  (double)st.bytes};
    return v[which];
}

#define ENTITY_STAT(name, which)                                                                   \
    static double name(void *ctx)                                                                  \
    {                                                                                              \
        return entity_stat(ctx, which);                                                            \
    }
ENTITY_STAT(entity_hits, 0)
ENTITY_STAT(entity_misses, 1)
ENTITY_STAT(entity_invalidations, 2)
ENTITY_STAT(entity_evictions, 3)
ENTITY_STAT(entity_stale_puts, 4)
ENTITY_STAT(entity_statuses, 5)
ENTITY_STAT(entity_accounts, 6)
ENTITY_STAT(entity_bytes, 7)

/* The entity cache's counters on /metrics, read at scrape time. */
static void entity_cache_metrics(struct metrics *m, struct entity_cache *c)
{
    metrics_func(m, METRIC_COUNTER, "threadly_entity_cache_hits_total",
                 "Statuses and accounts read from the entity cache.", entity_hits, c);
    metrics_func(m, METRIC_COUNTER, "threadly_entity_cache_misses_total",
                 "Statuses and accounts the entity cache did not hold (read from the database).",
                 entity_misses, c);
    metrics_func(m, METRIC_COUNTER, "threadly_entity_cache_invalidations_total",
                 "Statuses and accounts forgotten because a write changed them.",
                 entity_invalidations, c);
    metrics_func(m, METRIC_COUNTER, "threadly_entity_cache_evictions_total",
                 "Entries dropped to stay within --entity-cache-mb.", entity_evictions, c);
    metrics_func(m, METRIC_COUNTER, "threadly_entity_cache_stale_puts_total",
                 "Values read from the database and not kept: a write changed them meanwhile.",
                 entity_stale_puts, c);
    metrics_func(m, METRIC_GAUGE, "threadly_entity_cache_statuses", "Statuses held.",
                 entity_statuses, c);
    metrics_func(m, METRIC_GAUGE, "threadly_entity_cache_accounts", "Accounts held.",
                 entity_accounts, c);
    metrics_func(m, METRIC_GAUGE, "threadly_entity_cache_bytes", "Memory the entries take, about.",
                 entity_bytes, c);
}

/* Commits that wrote events wake the feed's long polls and, with Kafka, the relay. */
struct events_listeners {
    struct events_feed *feed;
    struct outbox_relay *relay;
};

static void events_committed(void *ctx)
{
    struct events_listeners *l = ctx;
    events_feed_wake(l->feed);
    if (l->relay)
        outbox_relay_wake(l->relay);
}

/* Starts the Kafka relay when --events-transport says so. 0, or ERR_INVALID (err set). */
static int start_relay(struct service *svc, struct outbox_store *outbox, struct outbox_relay **out,
                       struct err *err)
{
    const char *transport = config_str(&svc->config, "events-transport");
    if (strcmp(transport, "feed") == 0)
        return 0;
    if (strcmp(transport, "kafka") != 0)
        return err_set(err, ERR_INVALID, "--events-transport: '%s' is neither feed nor kafka",
                       transport);
    const char *bootstrap = config_str(&svc->config, "kafka-bootstrap");
    if (!bootstrap || !*bootstrap)
        return err_set(err, ERR_INVALID, "--kafka-bootstrap is empty");
    struct outbox_relay_config rcfg = {
        .kafka = {.bootstrap = bootstrap,
                  .client_id = "threadly-service",
                  .topic_prefix = config_str(&svc->config, "kafka-topic-prefix"),
                  .timeout_ms = (int)config_int(&svc->config, "kafka-timeout-ms")},
        .batch = 500,
        .recheck_ms = 1000,
        .backoff_min_ms = 100,
        .backoff_max_ms = 5000,
        .partitions = (int)config_int(&svc->config, "kafka-partitions"),
        .replication = (int)config_int(&svc->config, "kafka-replication"),
    };
    *out = outbox_relay_start(outbox, &rcfg, &svc->log, svc->metrics);
    http_ops_add_check(&svc->ops, "kafka", outbox_relay_ready, *out);
    return 0;
}

/* The database open_db picked: exactly one is set. */
struct threadly_db {
    struct sqlite_db *sqlite;
    struct pgsql_db *pgsql;
    struct outbox_store outbox;
};

/* The /ready "database" checks, one per engine. */
static int sqlite_ready(void *ctx, struct err *err)
{
    return sqlite_db_ping(ctx, err);
}

static int pgsql_ready(void *ctx, struct err *err)
{
    return pgsql_db_ping(ctx, err);
}

/* Opens the PostgreSQL database at url (not logged: it may hold a password). */
static int open_pgsql(struct service *svc, struct core *core, const char *url,
                      struct threadly_db *out, struct err *err)
{
    struct pgsql_db *pdb = pgsql_db_open(url, err);
    if (!pdb)
        return err->code;
    core->accounts = account_store_pgsql(pdb);
    core->apps = app_store_pgsql(pdb);
    core->tokens = token_store_pgsql(pdb);
    core->statuses = status_store_pgsql(pdb);
    core->social = social_store_pgsql(pdb);
    core->email_tokens = email_token_store_pgsql(pdb);
    out->outbox = outbox_store_pgsql(pdb);
    log_printf(&svc->log, LOG_INFO, NULL, "database pgsql (%zu migrations applied)",
               pgsql_db_migrations_applied(pdb));
    out->pgsql = pdb;
    return 0;
}

/* Opens the store named by --db. Adapters are chosen by name here and nowhere else. */
static int open_db(struct service *svc, struct core *core, struct threadly_db *out, struct err *err)
{
    const char *db = config_str(&svc->config, "db");
    char path[4096];
    if (!db) {
        snprintf(path, sizeof(path), "%s/threadly.db", svc->data_dir);
    } else if (strncmp(db, "sqlite:", 7) == 0 && db[7]) {
        snprintf(path, sizeof(path), "%s", db + 7);
    } else if (strncmp(db, "postgres://", 11) == 0 || strncmp(db, "postgresql://", 13) == 0) {
        return open_pgsql(svc, core, db, out, err);
    } else {
        return err_set(err, ERR_INVALID, "--db: '%s' is neither sqlite:PATH nor postgres://...",
                       db);
    }
    struct sqlite_db *sdb = sqlite_db_open(path, err);
    if (!sdb)
        return err->code;
    core->accounts = account_store_sqlite(sdb);
    core->apps = app_store_sqlite(sdb);
    core->tokens = token_store_sqlite(sdb);
    core->statuses = status_store_sqlite(sdb);
    core->social = social_store_sqlite(sdb);
    core->email_tokens = email_token_store_sqlite(sdb);
    out->outbox = outbox_store_sqlite(sdb);
    log_printf(&svc->log, LOG_INFO, NULL, "database sqlite:%s (%zu migrations applied)", path,
               sqlite_db_migrations_applied(sdb));
    out->sqlite = sdb;
    return 0;
}

int main(int argc, char **argv)
{
    struct service svc;
    struct instance_settings settings = {0};
    struct instance_http instance = {0};
    struct core core = {0};
    struct api api = {0};
    struct threadly_db db = {0};
    struct events_feed feed = {0};
    struct events_listeners listeners = {&feed, NULL};
    struct err err = {0};
    struct home_feed_tail *tail = NULL;
    struct outbox_pruner *pruner = NULL;
    bool stop;
    int rc = service_boot(&svc, "threadly-service", "threadly",
                          "threadly-service: accounts, statuses, follows and timelines "
                          "(Mastodon client API).",
                          options, sizeof(options) / sizeof(options[0]), argc, argv, &stop);
    if (stop)
        goto out;
    rc = 2;
    if (instance_settings_set_url(&settings, config_str(&svc.config, "public-url"), &err)) {
        log_printf(&svc.log, LOG_ERROR, NULL, "--public-url: %s", err.msg);
        goto out;
    }
    rc = 1;
    if (crypto_sodium_init(&err))
        goto fail;
    if (open_db(&svc, &core, &db, &err) != 0) {
        rc = err.code == ERR_INVALID ? 2 : 1;
        goto fail;
    }
    api.writes_blocking = db.pgsql != NULL;
    const char *key = config_str(&svc.config, "jwt-key");
    char key_path[4096];
    snprintf(key_path, sizeof(key_path), "%s", key ? key : "");
    if (!key)
        snprintf(key_path, sizeof(key_path), "%s/jwt-ed25519.key", svc.data_dir);
    if (token_signer_sodium_open(key_path, &core.signer, &err))
        goto fail;
    token_signer_cache_wrap(&core.signer);
    core.passwords =
        password_hasher_sodium_new((unsigned long long)config_int(&svc.config, "argon2-ops"),
                                   (unsigned long long)config_int(&svc.config, "argon2-mem-kib"));
    core.clock = &clock_system;
    core.random = &random_system;
    core.ids = &svc.ids;
    core.registrations_open = config_bool(&svc.config, "registrations");
    core.token_ttl_ms = config_int(&svc.config, "token-ttl") * 1000;
    core.email_token_ttl_ms = config_int(&svc.config, "email-token-ttl") * 1000;
    const char *confirm = config_str(&svc.config, "require-email-confirmation");
    if (strcmp(confirm, "auto") == 0) {
        core.require_email_confirmation = db.pgsql != NULL;
    } else if (strcmp(confirm, "true") == 0 || strcmp(confirm, "false") == 0) {
        core.require_email_confirmation = strcmp(confirm, "true") == 0;
    } else {
        err_set(&err, ERR_INVALID, "--require-email-confirmation: '%s' is not true, false or auto",
                confirm);
        rc = 2;
        goto fail;
    }
    if (auth_init(&core, &err))
        goto fail;
    core.base_url = settings.base_url;
    core.domain = settings.domain;
    core.max_characters = (int)config_int(&svc.config, "max-characters");
    core.idempotency = ttlmap_new(4096, 60 * 60 * 1000);
    core.auth_codes = ttlmap_new(1024, 10 * 60 * 1000);

    settings.title = config_str(&svc.config, "title");
    settings.short_description = config_str(&svc.config, "description");
    settings.description = settings.short_description;
    settings.email = config_str(&svc.config, "contact-email");
    settings.registrations = core.registrations_open;
    settings.max_characters = (int)config_int(&svc.config, "max-characters");
    settings.max_media_attachments = 4;
    settings.characters_reserved_per_url = 23;
    instance_http_register(svc.http, &instance, &settings, &core.accounts);

    api.core = &core;
    api.settings = &settings;
    api.log = &svc.log;
    api.login_limit =
        ratelimit_new((int)config_int(&svc.config, "login-limit"), 5 * 60 * 1000, 100000);
    api.signup_limit =
        ratelimit_new((int)config_int(&svc.config, "signup-limit"), 30 * 60 * 1000, 100000);
    api.reset_limit =
        ratelimit_new((int)config_int(&svc.config, "password-reset-limit"), 30 * 60 * 1000, 100000);
    oauth_http_register(svc.http, &api);
    email_http_register(svc.http, &api);
    accounts_http_register(svc.http, &api);
    statuses_http_register(svc.http, &api);
    authorize_http_register(svc.http, &api);
    social_http_register(svc.http, &api);
    /* Event snapshots are rendered by the HTTP adapter's renderer (ports/event_encoder.h). */
    core.encoder = event_encoder_http(&api);
    events_feed_register(svc.http, &feed, &db.outbox, &svc.log,
                         config_str(&svc.config, "internal-secret"));
    core.events_committed = events_committed;
    core.events_committed_ctx = &listeners;
    if (start_relay(&svc, &db.outbox, &listeners.relay, &err) != 0) {
        rc = 2;
        goto fail;
    }
    if (config_int(&svc.config, "home-feed-size") > 0)
        core.home = home_feed_mem_new((size_t)config_int(&svc.config, "home-feed-size"),
                                      (size_t)config_int(&svc.config, "home-feed-accounts"));
    if (config_int(&svc.config, "entity-cache-mb") > 0) {
        core.entities =
            entity_cache_mem_new((size_t)config_int(&svc.config, "entity-cache-mb") << 20);
        entity_cache_metrics(svc.metrics, &core.entities);
    }
    if (core.home.ops || core.entities.ops) {
        /* Revocations are answered from memory too; one tail (started at the outbox head
         * before the first request asks) keeps all three coherent with other processes. */
        token_store_cache_wrap(&core.tokens, &core.email_tokens);
        tail = home_feed_tail_start(
            &core, &db.outbox, (int)config_int(&svc.config, "home-feed-tail-ms"), &svc.log, &err);
        if (!tail)
            goto fail;
    }
    if (config_int(&svc.config, "outbox-retention-hours") > 0) {
        struct outbox_pruner_config pcfg = {
            .retention_ms = config_int(&svc.config, "outbox-retention-hours") * 3600 * 1000,
            .interval_ms = config_int(&svc.config, "outbox-prune-interval-s") * 1000,
            .only_sent = listeners.relay != NULL,
            .batch = 5000};
        pruner = outbox_pruner_start(&db.outbox, &pcfg, &clock_system, &svc.log, svc.metrics);
    }
    if (db.pgsql) {
        /* Writes wait on PostgreSQL round trips and durable commits: they run on 8 blocking
         * workers per CPU (api.writes_blocking), which keeps the CPUs busy meanwhile and lets
         * commits share fsyncs, while one event thread per CPU serves the reads, mostly from
         * memory, without the scheduling delays of many threads (bench/RESULTS.md). */
        http_server_blocking_threads_per_cpu(svc.http, 8);
        http_ops_add_check(&svc.ops, "database", pgsql_ready, db.pgsql);
    } else {
        http_ops_add_check(&svc.ops, "database", sqlite_ready, db.sqlite);
    }

    rc = service_listen(&svc);
    if (rc == 0)
        service_wait(&svc);
    goto out;
fail:
    log_printf(&svc.log, LOG_ERROR, NULL, "cannot start: %s", err.msg);
out:
    /* The HTTP server is stopped (service_wait): nothing wakes the relay any more; it uses the
     * log and metrics that service_release frees. */
    outbox_relay_stop(listeners.relay);
    listeners.relay = NULL;
    home_feed_tail_stop(tail);
    outbox_pruner_stop(pruner);
    service_release(&svc); /* stops the HTTP server before its users are freed */
    events_feed_release(&feed);
    outbox_store_close(&db.outbox);
    account_store_close(&core.accounts);
    app_store_close(&core.apps);
    token_store_close(&core.tokens);
    status_store_close(&core.statuses);
    email_token_store_close(&core.email_tokens);
    if (core.social.ops)
        social_store_close(&core.social);
    home_feed_close(&core.home);
    entity_cache_close(&core.entities);
    ttlmap_free(core.idempotency);
    ttlmap_free(core.auth_codes);
    sqlite_db_close(db.sqlite);
    pgsql_db_close(db.pgsql);
    if (core.passwords.ops)
        password_hasher_sodium_free(&core.passwords);
    if (core.signer.ops) {
        token_signer_cache_unwrap(&core.signer);
        token_signer_sodium_free(&core.signer);
    }
    instance_http_release(&instance);
    ratelimit_free(api.login_limit);
    ratelimit_free(api.signup_limit);
    ratelimit_free(api.reset_limit);
    return rc;
}
