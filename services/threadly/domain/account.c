/* account.c - sign-up and profile validation with Mastodon's error codes. */
#include "services/threadly/domain/account.h"

#include "lib/base/buf.h"

#include <string.h>

static const char *const reserved[] = {
    "admin",      "administrator", "root", "support", "help", "moderator", "mod",  "webmaster",
    "postmaster", "threadly",      "api",  "oauth",   "auth", "settings",  "about"};

void account_fold_case(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static bool ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

bool account_check_username(const char *u, struct validation *v)
{
    size_t n = u ? strlen(u) : 0;
    if (n == 0) {
        validation_add(v, "username", "ERR_BLANK", "can't be blank");
        return false;
    }
    if (n > ACCOUNT_USERNAME_MAX) {
        validation_add(v, "username", "ERR_TOO_LONG", "is too long (maximum is 30 characters)");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_')) {
            validation_add(v, "username", "ERR_INVALID",
                           "must contain only letters, numbers and underscores");
            return false;
        }
    }
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (ieq(u, reserved[i])) {
            validation_add(v, "username", "ERR_RESERVED", "is reserved");
            return false;
        }
    }
    return true;
}

static bool label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static bool local_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

bool account_check_email(const char *e, struct validation *v)
{
    size_t n = e ? strlen(e) : 0;
    if (n == 0) {
        validation_add(v, "email", "ERR_BLANK", "can't be blank");
        return false;
    }
    if (n > ACCOUNT_EMAIL_MAX) {
        validation_add(v, "email", "ERR_TOO_LONG", "is too long");
        return false;
    }
    const char *at = strchr(e, '@');
    bool ok = at && at != e && strchr(at + 1, '@') == NULL && (size_t)(at - e) <= 64 &&
              e[0] != '.' && at[-1] != '.';
    for (const char *p = e; ok && p < at; p++)
        ok = local_char(*p) && !(p[0] == '.' && p[1] == '.');
    /* domain: labels of letters, digits and hyphens, at least two of them */
    const char *d = ok ? at + 1 : NULL;
    int labels = 0;
    while (ok && *d) {
        const char *dot = strchr(d, '.');
        size_t len = dot ? (size_t)(dot - d) : strlen(d);
        ok = len > 0 && len <= 63 && d[0] != '-' && d[len - 1] != '-';
        for (size_t i = 0; ok && i < len; i++)
            ok = label_char(d[i]);
        labels++;
        if (!dot)
            break;
        d = dot + 1;
        ok = ok && *d;
    }
    if (!ok || labels < 2) {
        validation_add(v, "email", "ERR_INVALID", "is invalid");
        return false;
    }
    return true;
}

bool account_check_password(const char *p, struct validation *v)
{
    size_t n = p ? strlen(p) : 0;
    if (n == 0) {
        validation_add(v, "password", "ERR_BLANK", "can't be blank");
        return false;
    }
    if (!utf8_valid(p, n)) {
        validation_add(v, "password", "ERR_INVALID", "is invalid");
        return false;
    }
    size_t chars = utf8_length(p, n);
    if (chars < ACCOUNT_PASSWORD_MIN) {
        validation_add(v, "password", "ERR_TOO_SHORT", "is too short (minimum is 8 characters)");
        return false;
    }
    if (chars > ACCOUNT_PASSWORD_MAX) {
        validation_add(v, "password", "ERR_TOO_LONG", "is too long (maximum is 128 characters)");
        return false;
    }
    return true;
}

static bool check_text(const char *field, const char *s, size_t max, bool newlines,
                       struct validation *v)
{
    size_t n = strlen(s);
    bool ok = utf8_valid(s, n);
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)s[i] >= 0x20 || (newlines && s[i] == '\n');
    if (!ok) {
        validation_add(v, field, "ERR_INVALID", "contains invalid characters");
        return false;
    }
    if (utf8_length(s, n) > max) {
        validation_add(v, field, "ERR_TOO_LONG", "is too long");
        return false;
    }
    return true;
}

bool account_check_display_name(const char *name, struct validation *v)
{
    return check_text("display_name", name, ACCOUNT_DISPLAY_NAME_MAX, false, v);
}

bool account_check_note(const char *note, struct validation *v)
{
    return check_text("note", note, ACCOUNT_NOTE_MAX, true, v);
}
