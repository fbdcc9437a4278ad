/* account.h - a local account: identity, profile, counters, credentials. Validation of what
 * people type at sign-up and in their profile. Pure: no I/O, no clock. */
#ifndef SERVICES_THREADLY_DOMAIN_ACCOUNT_H
#define SERVICES_THREADLY_DOMAIN_ACCOUNT_H

#include "services/threadly/domain/validation.h"

#include <stdbool.h>
#include <stdint.h>

#define ACCOUNT_USERNAME_MAX 30
#define ACCOUNT_EMAIL_MAX 254
#define ACCOUNT_PASSWORD_MIN 8
#define ACCOUNT_PASSWORD_MAX 128    /* characters */
#define ACCOUNT_DISPLAY_NAME_MAX 30 /* characters, as Mastodon */
#define ACCOUNT_NOTE_MAX 500        /* characters, as Mastodon */

struct account {
    uint64_t id;
    const char *username;     /* as typed; unique case-insensitively */
    const char *email;        /* lower-cased; unique */
    const char *display_name; /* plain text, may be "" */
    const char *note;         /* plain text, may be "" */
    const char *password_hash;
    bool locked;
    bool bot;
    bool discoverable;
    int64_t created_at_ms;
    int64_t statuses_count;
    int64_t followers_count;
    int64_t following_count;
    int64_t last_status_at_ms; /* 0: never posted */
};

/* Each adds to v what is wrong with the value (Mastodon's ERR_* codes) and returns whether it
 * was valid. */
bool account_check_username(const char *username, struct validation *v);
bool account_check_email(const char *email, struct validation *v);
bool account_check_password(const char *password, struct validation *v);
bool account_check_display_name(const char *name, struct validation *v);
bool account_check_note(const char *note, struct validation *v);

/* Lower-cases ASCII letters of s in place (emails and usernames compare this way). */
void account_fold_case(char *s);

#endif
