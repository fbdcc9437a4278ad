/* email_token_store_mem.c - email tokens and confirmations in memory: arrays of a mem_db under
 * its mutex, so a password reset changes the account and writes its event in one critical
 * section, as the sqlite adapter does in one transaction. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/db_mem.h"

#include <string.h>

/* Caller holds db->mu. */
static struct mem_email_token *email_token_mem_find(struct mem_db *db, const char *hash)
{
    for (size_t i = 0; i < db->nemail_tokens; i++)
        if (strcmp(db->email_tokens[i].hash, hash) == 0)
            return &db->email_tokens[i];
    return NULL;
}

/* Caller holds db->mu. */
static bool email_token_mem_confirmed(const struct mem_db *db, uint64_t account_id)
{
    for (size_t i = 0; i < db->nconfirmations; i++)
        if (db->confirmations[i].account_id == account_id)
            return true;
    return false;
}

/* Caller holds db->mu. Raises the account's cut-off to below_jti. */
static void email_token_mem_cutoff(struct mem_db *db, uint64_t account_id, uint64_t below_jti)
{
    for (size_t i = 0; i < db->ncutoffs; i++)
        if (db->cutoffs[i].account_id == account_id) {
            if (db->cutoffs[i].below_jti < below_jti)
                db->cutoffs[i].below_jti = below_jti;
            return;
        }
    MEM_DB_RESERVE(db->cutoffs, db->ncutoffs, db->cutoffs_cap);
    db->cutoffs[db->ncutoffs++] = (struct mem_cutoff){account_id, below_jti};
}

static int email_token_store_mem_insert(void *ctx, const struct email_token *t,
                                        const struct outbox_emit *emit, struct err *err)
{
    struct mem_db *db = ctx;
    int rc = 0;
    pthread_mutex_lock(&db->mu);
    if (email_token_mem_find(db, t->hash)) {
        rc = err_set(err, ERR_CONFLICT, "email token exists");
    } else {
        MEM_DB_RESERVE(db->email_tokens, db->nemail_tokens, db->email_tokens_cap);
        db->email_tokens[db->nemail_tokens++] = (struct mem_email_token){
            xstrdup(t->hash), t->kind, t->account_id, t->created_at_ms, t->expires_at_ms, 0};
        struct outbox_change ch = {0};
        mem_db_outbox_write(db, emit, &ch);
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

static int email_token_store_mem_use(void *ctx, enum email_token_kind kind, const char *hash,
                                     int64_t now_ms, const char *new_hash, uint64_t below_jti,
                                     const struct outbox_emit *emit, uint64_t *account_id,
                                     struct err *err)
{
    struct mem_db *db = ctx;
    int rc = 0;
    pthread_mutex_lock(&db->mu);
    struct mem_email_token *t = email_token_mem_find(db, hash);
    struct account *acct = t ? mem_db_account(db, t->account_id) : NULL;
    if (!t || t->kind != (int)kind || t->used_at_ms) {
        rc = err_set(err, ERR_NOT_FOUND, "email token: not found");
    } else if (t->expires_at_ms <= now_ms) {
        rc = err_set(err, ERR_INVALID, "email token expired");
    } else if (kind == EMAIL_TOKEN_RESET && !acct) {
        rc = err_set(err, ERR_NOT_FOUND, "email token: account is gone");
    } else {
        *account_id = t->account_id;
        t->used_at_ms = now_ms;
        if (kind == EMAIL_TOKEN_CONFIRM && !email_token_mem_confirmed(db, t->account_id)) {
            MEM_DB_RESERVE(db->confirmations, db->nconfirmations, db->confirmations_cap);
            db->confirmations[db->nconfirmations++] =
                (struct mem_confirmation){t->account_id, now_ms};
        } else if (kind == EMAIL_TOKEN_RESET) {
            free((char *)acct->password_hash);
            acct->password_hash = xstrdup(new_hash);
            for (size_t i = 0; i < db->nemail_tokens; i++) {
                struct mem_email_token *o = &db->email_tokens[i];
                if (o->account_id == *account_id && o->kind == EMAIL_TOKEN_RESET && !o->used_at_ms)
                    o->used_at_ms = now_ms;
            }
            email_token_mem_cutoff(db, *account_id, below_jti);
            struct outbox_change ch = {.row_id = *account_id};
            mem_db_outbox_write(db, emit, &ch);
        }
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

static int email_token_store_mem_is_confirmed(void *ctx, uint64_t account_id, bool *confirmed,
                                              struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    *confirmed = email_token_mem_confirmed(db, account_id);
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static void email_token_store_mem_close(void *ctx)
{
    (void)ctx; /* the tokens belong to the mem_db */
}

static const struct email_token_store_ops email_token_store_mem_ops = {
    .insert = email_token_store_mem_insert,
    .use = email_token_store_mem_use,
    .is_confirmed = email_token_store_mem_is_confirmed,
    .close = email_token_store_mem_close,
};

struct email_token_store email_token_store_mem(struct mem_db *db)
{
    return (struct email_token_store){&email_token_store_mem_ops, db};
}
