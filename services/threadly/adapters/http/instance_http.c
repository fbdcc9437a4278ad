/* instance_http.c - the Instance entity in its V1 and V2 shapes (mastodon/documentation
 * entities/V1_Instance.md and entities/Instance.md). Both are cached and re-rendered every
 * few seconds: clients call them on every start, and they need not cost a query. */
#include "services/threadly/adapters/http/instance_http.h"

#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/xalloc.h"

#include <string.h>

extern const unsigned char threadly_default_png[];
extern const unsigned long threadly_default_png_len;

#define DEFAULT_IMAGE_PATH "/images/default.png"

static json_t *supported_mime_types(void)
{
    return json_pack("[s,s,s,s]", "image/jpeg", "image/png", "image/gif", "image/webp");
}

static json_t *statuses_config(const struct instance_settings *s)
{
    return json_pack("{s:i, s:i, s:i}", "max_characters", s->max_characters,
                     "max_media_attachments", s->max_media_attachments,
                     "characters_reserved_per_url", s->characters_reserved_per_url);
}

static json_t *media_config(void)
{
    return json_pack("{s:o, s:i, s:i, s:i, s:i, s:i}", "supported_mime_types",
                     supported_mime_types(), "image_size_limit", 10485760, "image_matrix_limit",
                     16777216, "video_size_limit", 41943040, "video_frame_rate_limit", 60,
                     "video_matrix_limit", 2304000);
}

static json_t *polls_config(void)
{
    return json_pack("{s:i, s:i, s:i, s:i}", "max_options", 4, "max_characters_per_option", 50,
                     "min_expiration", 300, "max_expiration", 2629746);
}

static json_t *render_v1(const struct instance_settings *s, const struct instance_stats *st,
                         const char *thumbnail)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:{s:I, s:I, s:I}, s:s, s:[s], s:b, s:b, s:b,"
        " s:{s:{s:i}, s:o, s:o, s:o}, s:n, s:[]}",
        "uri", s->domain, "title", s->title, "short_description", s->short_description,
        "description", s->description, "email", s->email, "version", INSTANCE_VERSION_STRING,
        "urls", "streaming_api", s->streaming_url, "stats", "user_count",
        (json_int_t)st->user_count, "status_count", (json_int_t)st->status_count, "domain_count",
        (json_int_t)st->domain_count, "thumbnail", thumbnail, "languages", "en", "registrations",
        s->registrations, "approval_required", s->approval_required, "invites_enabled", 0,
        "configuration", "accounts", "max_featured_tags", 10, "statuses", statuses_config(s),
        "media_attachments", media_config(), "polls", polls_config(), "contact_account", "rules");
}

static json_t *render_v2(const struct instance_settings *s, const struct instance_stats *st,
                         const char *thumbnail)
{
    json_t *config = json_pack(
        "{s:{s:s, s:n}, s:{s:s}, s:{s:i, s:i}, s:o, s:o, s:o, s:{s:b}}", "urls", "streaming",
        s->streaming_url, "status", "vapid", "public_key", "", "accounts", "max_featured_tags", 10,
        "max_pinned_statuses", 5, "statuses", statuses_config(s), "media_attachments",
        media_config(), "polls", polls_config(), "translation", "enabled", 0);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:I}}, s:{s:s, s:n, s:{}}, s:[], s:[s], s:o,"
                     " s:{s:b, s:b, s:n, s:n}, s:{s:i}, s:{s:s, s:n}, s:[]}",
                     "domain", s->domain, "title", s->title, "version", INSTANCE_VERSION_STRING,
                     "source_url", INSTANCE_SOURCE_URL, "description", s->short_description,
                     "usage", "users", "active_month", (json_int_t)st->user_count, "thumbnail",
                     "url", thumbnail, "blurhash", "versions", "icon", "languages", "en",
                     "configuration", config, "registrations", "enabled", s->registrations,
                     "approval_required", s->approval_required, "message", "url", "api_versions",
                     "mastodon", 2, "contact", "email", s->email, "account", "rules");
}

static char *dump(json_t *j, size_t *len)
{
    ASSERT(j);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    ASSERT(text);
    *len = strlen(text);
    return text;
}

/* Re-renders both entities with fresh counts. Called with ih->lock held. A store that is
 * down keeps the previous rendering: the instance stays readable. */
static void render(struct instance_http *ih)
{
    struct instance_stats stats = {0};
    struct err err = {0};
    if (ih->accounts &&
        (account_store_count(ih->accounts, &stats.user_count, &err) != 0 ||
         account_store_statuses_total(ih->accounts, &stats.status_count, &err) != 0) &&
        ih->v1_json)
        return;
    struct buf thumb = BUF_INIT;
    buf_appendf(&thumb, "%s%s", ih->settings->base_url, DEFAULT_IMAGE_PATH);
    free(ih->v1_json);
    free(ih->v2_json);
    ih->v1_json = dump(render_v1(ih->settings, &stats, thumb.data), &ih->v1_len);
    ih->v2_json = dump(render_v2(ih->settings, &stats, thumb.data), &ih->v2_len);
    buf_release(&thumb);
    ih->rendered_at = clock_monotonic_ms();
}

static void serve(struct instance_http *ih, struct http_res *res, bool v2)
{
    pthread_mutex_lock(&ih->lock);
    if (clock_monotonic_ms() - ih->rendered_at >= INSTANCE_REFRESH_MS)
        render(ih);
    /* Copied under the lock: a later refresh frees the cached text. */
    http_res_bytes(res, 200, "application/json; charset=utf-8", v2 ? ih->v2_json : ih->v1_json,
                   v2 ? ih->v2_len : ih->v1_len);
    pthread_mutex_unlock(&ih->lock);
}

static void get_v1(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    serve(ctx, res, false);
}

static void get_v2(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    serve(ctx, res, true);
}

static void get_default_image(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    (void)ctx;
    http_res_header(res, "Cache-Control", "public, max-age=86400");
    http_res_static(res, 200, "image/png", threadly_default_png, threadly_default_png_len);
}

static void streaming_on_rest_host(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    (void)ctx;
    /* MDOC methods/streaming.md: the REST host answers 404 when it does not redirect. The
     * gateway sends /api/v1/streaming to notification-service, so this is only reached when
     * threadly-service is called directly. */
    http_res_error(res, 404, "Streaming is served by notification-service");
}

void instance_http_register(struct http_server *s, struct instance_http *ih,
                            const struct instance_settings *settings,
                            struct account_store *accounts)
{
    ih->settings = settings;
    ih->accounts = accounts;
    pthread_mutex_init(&ih->lock, NULL);
    render(ih);
    http_route(s, HTTP_GET, "/api/v1/instance", get_v1, ih);
    http_route(s, HTTP_GET, "/api/v2/instance", get_v2, ih);
    http_route(s, HTTP_GET, DEFAULT_IMAGE_PATH, get_default_image, ih);
    http_route(s, HTTP_GET, "/api/v1/streaming", streaming_on_rest_host, ih);
}

void instance_http_release(struct instance_http *ih)
{
    if (!ih->settings)
        return;
    pthread_mutex_destroy(&ih->lock);
    free(ih->v1_json);
    free(ih->v2_json);
    ih->v1_json = ih->v2_json = NULL;
}
