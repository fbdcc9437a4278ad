/* account_store_mem.c - account store port in memory: the accounts array of a mem_db (owned
 * copies under its mutex), shared with the status and social stores that keep its counters.
 * Usernames compare ASCII case-insensitively, as SQLite's lower() does. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/db_mem.h"

#include <inttypes.h>
#include <string.h>

static bool ascii_eq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return *a == *b;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static void account_copy_to_arena(const struct account *src, struct arena *a, struct account **out)
{
    struct account *dst = arena_alloc(a, sizeof(*dst));
    *dst = *src;
    dst->username = arena_strdup(a, src->username);
    dst->email = arena_strdup(a, src->email);
    dst->display_name = arena_strdup(a, src->display_name);
    dst->note = arena_strdup(a, src->note);
    dst->password_hash = arena_strdup(a, src->password_hash);
    *out = dst;
}

static int account_store_mem_insert(void *ctx, const struct account *acct,
                                    const struct outbox_emit *emit, struct err *err)
{
    struct mem_db *s = ctx;
    ASSERT(acct->username && acct->email && acct->password_hash);
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->naccounts; i++) {
        const struct account *o = &s->accounts[i];
        if (o->id == acct->id) {
            rc = err_set(err, ERR_CONFLICT, "account %" PRIu64 " exists", acct->id);
            goto out;
        }
        if (ascii_eq_nocase(o->username, acct->username)) {
            rc = err_set(err, ERR_CONFLICT, "username '%s' is taken", acct->username);
            goto out;
        }
        if (strcmp(o->email, acct->email) == 0) {
            rc = err_set(err, ERR_CONFLICT, "email is taken");
            goto out;
        }
    }
    MEM_DB_RESERVE(s->accounts, s->naccounts, s->accounts_cap);
    struct account *dst = &s->accounts[s->naccounts++];
    *dst = *acct;
    dst->username = xstrdup(acct->username);
    dst->email = xstrdup(acct->email);
    dst->display_name = xstrdup(or_empty(acct->display_name));
    dst->note = xstrdup(or_empty(acct->note));
    dst->password_hash = xstrdup(acct->password_hash);
    struct outbox_change ch = {0};
    mem_db_outbox_write(s, emit, &ch);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Finds the first account for which match(acct, key) holds and copies it into the arena. */
static int account_store_mem_find(struct mem_db *s,
                                  bool (*match)(const struct account *, const void *),
                                  const void *key, struct arena *a, struct account **out)
{
    int rc = ERR_NOT_FOUND;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->naccounts; i++) {
        if (match(&s->accounts[i], key)) {
            account_copy_to_arena(&s->accounts[i], a, out);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static bool match_id(const struct account *acct, const void *key)
{
    return acct->id == *(const uint64_t *)key;
}

static bool match_username(const struct account *acct, const void *key)
{
    return ascii_eq_nocase(acct->username, key);
}

static bool match_email(const struct account *acct, const void *key)
{
    return strcmp(acct->email, key) == 0;
}

static int account_store_mem_get(void *ctx, uint64_t id, struct arena *a, struct account **out,
                                 struct err *err)
{
    if (account_store_mem_find(ctx, match_id, &id, a, out) != 0)
        return err_set(err, ERR_NOT_FOUND, "account %" PRIu64 " not found", id);
    return 0;
}

static int account_store_mem_get_many(void *ctx, const uint64_t *ids, size_t n, struct arena *a,
                                      struct account **out, struct err *err)
{
    struct mem_db *s = ctx;
    (void)err;
    ASSERT(n <= ACCOUNT_STORE_BATCH_MAX);
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        for (size_t j = 0; j < s->naccounts; j++) {
            if (s->accounts[j].id == ids[i]) {
                account_copy_to_arena(&s->accounts[j], a, &out[i]);
                break;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int account_store_mem_get_by_username(void *ctx, const char *username, struct arena *a,
                                             struct account **out, struct err *err)
{
    if (account_store_mem_find(ctx, match_username, username, a, out) != 0)
        return err_set(err, ERR_NOT_FOUND, "username '%s' not found", username);
    return 0;
}

static int account_store_mem_get_by_email(void *ctx, const char *email, struct arena *a,
                                          struct account **out, struct err *err)
{
    if (account_store_mem_find(ctx, match_email, email, a, out) != 0)
        return err_set(err, ERR_NOT_FOUND, "email not found");
    return 0;
}

static void replace(const char **field, const char *value)
{
    free((char *)*field);
    *field = xstrdup(value ? value : "");
}

static int account_store_mem_update_profile(void *ctx, const struct account *acct,
                                            const struct outbox_emit *emit, struct err *err)
{
    struct mem_db *s = ctx;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    struct account *o = mem_db_account(s, acct->id);
    if (!o) {
        rc = err_set(err, ERR_NOT_FOUND, "account %" PRIu64 " not found", acct->id);
    } else {
        replace(&o->display_name, acct->display_name);
        replace(&o->note, acct->note);
        o->locked = acct->locked;
        o->bot = acct->bot;
        o->discoverable = acct->discoverable;
        struct outbox_change ch = {0};
        mem_db_outbox_write(s, emit, &ch);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int account_store_mem_count(void *ctx, int64_t *out, struct err *err)
{
    struct mem_db *s = ctx;
    (void)err;
    pthread_mutex_lock(&s->mu);
    *out = (int64_t)s->naccounts;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int account_store_mem_statuses_total(void *ctx, int64_t *out, struct err *err)
{
    struct mem_db *s = ctx;
    (void)err;
    pthread_mutex_lock(&s->mu);
    *out = 0;
    for (size_t i = 0; i < s->naccounts; i++)
        *out += s->accounts[i].statuses_count;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void account_store_mem_close(void *ctx)
{
    (void)ctx; /* the accounts belong to the mem_db */
}

/* account_store_mem_new's store owns its private mem_db. */
static void account_store_mem_close_owned(void *ctx)
{
    mem_db_free(ctx);
}

static const struct account_store_ops account_store_mem_ops = {
    .insert = account_store_mem_insert,
    .get = account_store_mem_get,
    .get_many = account_store_mem_get_many,
    .get_by_username = account_store_mem_get_by_username,
    .get_by_email = account_store_mem_get_by_email,
    .update_profile = account_store_mem_update_profile,
    .count = account_store_mem_count,
    .statuses_total = account_store_mem_statuses_total,
    .close = account_store_mem_close,
};

static const struct account_store_ops account_store_mem_owned_ops = {
    .insert = account_store_mem_insert,
    .get = account_store_mem_get,
    .get_many = account_store_mem_get_many,
    .get_by_username = account_store_mem_get_by_username,
    .get_by_email = account_store_mem_get_by_email,
    .update_profile = account_store_mem_update_profile,
    .count = account_store_mem_count,
    .statuses_total = account_store_mem_statuses_total,
    .close = account_store_mem_close_owned,
};

struct account_store account_store_mem(struct mem_db *db)
{
    return (struct account_store){&account_store_mem_ops, db};
}

struct account_store account_store_mem_new(void)
{
    return (struct account_store){&account_store_mem_owned_ops, mem_db_new()};
}
