/* rules.c - docs/events.md's table of notifications, as code. */
#include "services/notification/domain/rules.h"

#include "lib/base/id.h"

#include <string.h>

static const struct {
    const char *type;
    enum domain_event_kind kind;
} kinds[] = {
    {"account.created", DOMAIN_ACCOUNT_CREATED},
    {"account.updated", DOMAIN_ACCOUNT_UPDATED},
    {"token.revoked", DOMAIN_TOKEN_REVOKED},
    {"status.created", DOMAIN_STATUS_CREATED},
    {"status.deleted", DOMAIN_STATUS_DELETED},
    {"favourite.created", DOMAIN_FAVOURITE_CREATED},
    {"favourite.deleted", DOMAIN_FAVOURITE_DELETED},
    {"follow.created", DOMAIN_FOLLOW_CREATED},
    {"follow.deleted", DOMAIN_FOLLOW_DELETED},
    {"follow_request.created", DOMAIN_FOLLOW_REQUEST_CREATED},
    {"follow_request.deleted", DOMAIN_FOLLOW_REQUEST_DELETED},
    {"account.password_reset_requested", DOMAIN_PASSWORD_RESET_REQUESTED},
    {"account.tokens_revoked", DOMAIN_TOKENS_REVOKED},
};

bool domain_event_kind_parse(const char *type, int version, enum domain_event_kind *out)
{
    if (version != 1)
        return false;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(kinds[i].type, type) == 0) {
            *out = kinds[i].kind;
            return true;
        }
    }
    return false;
}

bool visibility_parse(const char *s, enum visibility *out)
{
    static const char *const names[] = {"public", "unlisted", "private", "direct"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(names[i], s) == 0) {
            *out = (enum visibility)(i + 1);
            return true;
        }
    }
    return false;
}

/* out = prefix ":" a [":" b]; ids are at most 19 digits, so it always fits. */
static void cause(char out[NOTIFICATION_CAUSE_MAX], const char *prefix, uint64_t a, uint64_t b)
{
    char id[ID_STR_LEN];
    size_t n = strlen(prefix);
    memcpy(out, prefix, n);
    id_format(a, id);
    out[n++] = ':';
    memcpy(out + n, id, strlen(id) + 1);
    if (b) {
        n += strlen(id);
        id_format(b, id);
        out[n++] = ':';
        memcpy(out + n, id, strlen(id) + 1);
    }
}

static const char *cause_dup(struct arena *a, const char *prefix, uint64_t x, uint64_t y)
{
    char buf[NOTIFICATION_CAUSE_MAX];
    cause(buf, prefix, x, y);
    return arena_strdup(a, buf);
}

static void add(struct event_changes *out, const struct notification_new *n)
{
    /* One notification per recipient and type (a reply that also mentions its parent's author
     * notifies once). */
    for (size_t i = 0; i < out->ncreates; i++)
        if (out->creates[i].recipient_id == n->recipient_id && out->creates[i].type == n->type)
            return;
    out->creates[out->ncreates++] = *n;
}

static void mentions(const struct domain_event *e, struct arena *a, struct event_changes *out)
{
    struct notification_new n = {.type = NOTIFICATION_MENTION,
                                 .account_id = e->actor_id,
                                 .status_id = e->status_id,
                                 .status_json = e->status_json};
    /* The author, as the status embeds it. */
    n.account_json = e->actor_json;
    cause(n.cause, "mention", e->status_id, 0);
    out->creates = arena_calloc(a, e->nmentions + 1, sizeof(*out->creates));
    for (size_t i = 0; i < e->nmentions; i++) {
        n.recipient_id = e->mentions[i];
        if (n.recipient_id && n.recipient_id != e->actor_id)
            add(out, &n);
    }
    bool open = e->visibility == VISIBILITY_PUBLIC || e->visibility == VISIBILITY_UNLISTED;
    if (open && e->in_reply_to_account_id && e->in_reply_to_account_id != e->actor_id) {
        n.recipient_id = e->in_reply_to_account_id;
        add(out, &n);
    }
}

/* A single notification for target_id from actor_id, unless they are the same account. */
static void one(const struct domain_event *e, struct arena *a, struct event_changes *out,
                enum notification_type type, uint64_t recipient, const char *prefix, uint64_t x,
                uint64_t y)
{
    if (!recipient || recipient == e->actor_id)
        return;
    out->creates = arena_calloc(a, 1, sizeof(*out->creates));
    struct notification_new *n = &out->creates[out->ncreates++];
    n->type = type;
    n->recipient_id = recipient;
    n->account_id = e->actor_id;
    n->account_json = e->actor_json;
    if (notification_type_has_status(type)) {
        n->status_id = e->status_id;
        n->status_json = e->status_json;
    }
    cause(n->cause, prefix, x, y);
}

static void remove_cause(struct event_changes *out, struct arena *a, const char *prefix, uint64_t x,
                         uint64_t y)
{
    out->remove_causes = arena_calloc(a, 1, sizeof(*out->remove_causes));
    out->remove_causes[out->nremove_causes++] = cause_dup(a, prefix, x, y);
}

void rules_apply(const struct domain_event *e, struct arena *a, struct event_changes *out)
{
    memset(out, 0, sizeof(*out));
    switch (e->kind) {
    case DOMAIN_ACCOUNT_CREATED:
    case DOMAIN_ACCOUNT_UPDATED:
        out->account_id = e->actor_id;
        out->account_json = e->actor_json;
        break;
    case DOMAIN_TOKEN_REVOKED:
        out->revoked_jti = e->jti;
        break;
    case DOMAIN_STATUS_CREATED:
        mentions(e, a, out);
        break;
    case DOMAIN_STATUS_DELETED:
        out->remove_status_id = e->status_id;
        break;
    case DOMAIN_FAVOURITE_CREATED:
        one(e, a, out, NOTIFICATION_FAVOURITE, e->status_account_id, "favourite", e->actor_id,
            e->status_id);
        break;
    case DOMAIN_FAVOURITE_DELETED:
        remove_cause(out, a, "favourite", e->actor_id, e->status_id);
        break;
    case DOMAIN_FOLLOW_CREATED:
        one(e, a, out, NOTIFICATION_FOLLOW, e->target_id, "follow", e->actor_id, e->target_id);
        out->follower_id = e->actor_id;
        out->followee_id = e->target_id;
        out->follow_add = true;
        break;
    case DOMAIN_FOLLOW_DELETED:
        remove_cause(out, a, "follow", e->actor_id, e->target_id);
        out->follower_id = e->actor_id;
        out->followee_id = e->target_id;
        out->follow_remove = true;
        break;
    case DOMAIN_FOLLOW_REQUEST_CREATED:
        one(e, a, out, NOTIFICATION_FOLLOW_REQUEST, e->target_id, "follow_request", e->actor_id,
            e->target_id);
        break;
    case DOMAIN_FOLLOW_REQUEST_DELETED:
        remove_cause(out, a, "follow_request", e->actor_id, e->target_id);
        break;
    case DOMAIN_PASSWORD_RESET_REQUESTED:
        break; /* nothing to notify: the mail is made by the mail outbox */
    case DOMAIN_TOKENS_REVOKED:
        out->cutoff_account_id = e->actor_id;
        out->cutoff_below_jti = e->jti;
        break;
    }
}
