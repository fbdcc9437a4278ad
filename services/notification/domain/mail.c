/* mail.c - template rendering and the RFC 5322 / MIME text of a message. */
#include "services/notification/domain/mail.h"

#include "lib/base/xalloc.h"

#include <string.h>

static const char *const kind_names[MAIL_KIND_COUNT] = {"confirmation", "password_reset", "follow",
                                                        "mention",      "favourite",      "digest"};

const char *mail_kind_name(enum mail_kind k)
{
    ASSERT(k >= 0 && k < MAIL_KIND_COUNT);
    return kind_names[k];
}

bool mail_kind_parse(const char *name, enum mail_kind *out)
{
    for (int k = 0; k < MAIL_KIND_COUNT; k++)
        if (name && strcmp(name, kind_names[k]) == 0) {
            *out = (enum mail_kind)k;
            return true;
        }
    return false;
}

bool mail_kind_is_notification(enum mail_kind k)
{
    return k != MAIL_CONFIRMATION && k != MAIL_PASSWORD_RESET;
}

int mail_render(const char *tpl, const struct mail_var *vars, size_t nvars, bool html,
                struct buf *out, struct err *err)
{
    const char *p = tpl;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (!open) {
            buf_append_str(out, p);
            return 0;
        }
        buf_append(out, p, (size_t)(open - p));
        const char *name = open + 2, *close = strstr(name, "}}");
        if (!close)
            return err_set(err, ERR_INVALID, "template: unclosed {{");
        size_t len = (size_t)(close - name);
        const struct mail_var *v = NULL;
        for (size_t i = 0; i < nvars && !v; i++)
            if (strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0)
                v = &vars[i];
        if (!v || !v->value)
            return err_set(err, ERR_INVALID, "template: no value for {{%.*s}}", (int)len, name);
        if (html)
            buf_append_html(out, v->value, strlen(v->value));
        else
            buf_append_str(out, v->value);
        p = close + 2;
    }
}

int mail_compose(const struct mail_template *t, const struct mail_var *vars, size_t nvars,
                 struct arena *a, struct mail_parts *out, struct err *err)
{
    static const char prefix[] = "Subject: ";
    if (strncmp(t->text, prefix, sizeof(prefix) - 1) != 0)
        return err_set(err, ERR_INVALID, "template: no Subject line");
    const char *subj = t->text + sizeof(prefix) - 1, *nl = strchr(subj, '\n');
    if (!nl)
        return err_set(err, ERR_INVALID, "template: nothing after the Subject line");
    const char *body = nl + 1;
    while (*body == '\n')
        body++;
    struct buf b = BUF_INIT;
    char *line = arena_strndup(a, subj, (size_t)(nl - subj));
    int rc = mail_render(line, vars, nvars, false, &b, err);
    if (rc == 0) {
        for (char *p = b.data; p && *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
        out->subject = arena_strndup(a, b.data ? b.data : "", b.len);
        buf_reset(&b);
        rc = mail_render(body, vars, nvars, false, &b, err);
    }
    if (rc == 0) {
        out->text = arena_strndup(a, b.data ? b.data : "", b.len);
        buf_reset(&b);
        rc = mail_render(t->html, vars, nvars, true, &b, err);
    }
    if (rc == 0)
        out->html = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_release(&b);
    return rc;
}

/* ---- addresses and header values ---- */

bool mail_address_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    const char *at = n ? strrchr(s, '@') : NULL;
    if (!at || at == s || !at[1] || n > 254)
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("<>\"(),;:\\[]", c))
            return false;
    }
    return strchr(at + 1, '.') != NULL && at[1] != '.' && s[n - 1] != '.';
}

bool mail_address_of(const char *from, char *out, size_t size)
{
    const char *lt = strrchr(from, '<'), *start = from, *end = from + strlen(from);
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt)
            return false;
        start = lt + 1;
        end = gt;
    }
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t n = (size_t)(end - start);
    if (n + 1 > size)
        return false;
    memcpy(out, start, n);
    out[n] = '\0';
    return mail_address_ok(out);
}

/* No control characters (CR and LF above all: header injection). */
static bool header_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static bool printable_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            return false;
    return true;
}

static void base64(struct buf *out, const unsigned char *s, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        buf_append_char(out, tab[(v >> 18) & 63]);
        buf_append_char(out, tab[(v >> 12) & 63]);
        buf_append_char(out, i + 1 < n ? tab[(v >> 6) & 63] : '=');
        buf_append_char(out, i + 2 < n ? tab[v & 63] : '=');
    }
}

/* The length of the UTF-8 sequence that starts with byte c (1 for a stray byte). */
static size_t utf8_seq_len(unsigned char c)
{
    return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

void mail_header_value(struct buf *out, const char *s, size_t used)
{
    size_t n = strlen(s);
    if (printable_ascii(s) && used + n <= 78 && !strstr(s, "=?")) {
        buf_append(out, s, n);
        return;
    }
    /* "=?UTF-8?B?" + base64 + "?=" <= 75: at most 45 bytes of text per word (60 base64). */
    const size_t max_bytes = 45;
    size_t i = 0;
    bool first = true;
    while (i < n || first) {
        size_t take = 0;
        while (i + take < n) {
            size_t k = utf8_seq_len((unsigned char)s[i + take]);
            if (take + k > max_bytes)
                break;
            take += k;
        }
        if (take == 0 && i < n) /* a sequence longer than the room: cannot happen with 45 */
            take = n - i < max_bytes ? n - i : max_bytes;
        if (!first)
            buf_append_str(out, "\r\n ");
        buf_append_str(out, "=?UTF-8?B?");
        base64(out, (const unsigned char *)s + i, take);
        buf_append_str(out, "?=");
        i += take;
        first = false;
    }
}

/* ---- bodies ---- */

void mail_qp(struct buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
            continue; /* the LF that follows ends the line */
        if (c == '\n') {
            buf_append_str(out, "\r\n");
            col = 0;
            continue;
        }
        bool next_is_eol = i + 1 == n || s[i + 1] == '\n' || s[i + 1] == '\r';
        /* Encoded: non-ASCII, '=', controls, a space or tab before a line end, a '.' or 'F'
         * that starts a line (SMTP dot-stuffing, "From " mangling). */
        bool enc = c >= 0x7f || c == '=' || (c < 0x20 && c != '\t') ||
                   ((c == ' ' || c == '\t') && next_is_eol) || (col == 0 && (c == '.' || c == 'F'));
        size_t w = enc ? 3 : 1;
        if (col + w > 75) { /* soft line break: "=" makes 76 */
            buf_append_str(out, "=\r\n");
            col = 0;
            if (c == '.' || c == 'F')
                enc = true, w = 3;
        }
        if (enc) {
            buf_append_char(out, '=');
            buf_append_char(out, hex[c >> 4]);
            buf_append_char(out, hex[c & 15]);
        } else {
            buf_append_char(out, (char)c);
        }
        col += w;
    }
}

/* Writes v as exactly `digits` decimal digits. */
static char *put_num(char *p, int64_t v, int digits)
{
    for (int i = digits - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + digits;
}

void mail_format_date(int64_t ms, char out[MAIL_DATE_LEN])
{
    static const char days[] = "ThuFriSatSunMonTueWed"; /* 1970-01-01 was a Thursday */
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int64_t secs = ms / 1000 - (ms % 1000 < 0), day = secs / 86400 - (secs % 86400 < 0);
    int64_t sod = secs - day * 86400;
    /* The civil date of a day count (H. Hinnant's days_from_civil, inverted). */
    int64_t z = day + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    y = y < 0 ? 0 : y > 9999 ? 9999 : y;
    int64_t wd = ((day % 7) + 7) % 7;
    char *p = out;
    memcpy(p, days + wd * 3, 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = put_num(p, d, 2);
    *p++ = ' ';
    memcpy(p, months + (m - 1) * 3, 3);
    p += 3;
    *p++ = ' ';
    p = put_num(p, y, 4);
    *p++ = ' ';
    p = put_num(p, sod / 3600, 2);
    *p++ = ':';
    p = put_num(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_num(p, sod % 60, 2);
    memcpy(p, " +0000", 7);
}

static bool boundary_ok(const char *b)
{
    size_t n = b ? strlen(b) : 0;
    if (n == 0 || n > 60)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._=-", c)))
            return false;
    }
    return true;
}

/* A header whose value is written as it is (checked safe by the caller). */
static void header(struct buf *out, const char *name, const char *value)
{
    buf_appendf(out, "%s: %s\r\n", name, value);
}

/* The From header: "Display Name <addr>" with the name encoded when it needs to be. */
static void from_header(struct buf *out, const char *from, const char *addr)
{
    const char *lt = strrchr(from, '<');
    buf_append_str(out, "From: ");
    if (lt) {
        size_t n = (size_t)(lt - from);
        while (n && from[n - 1] == ' ')
            n--;
        char name[256];
        if (n >= sizeof(name))
            n = sizeof(name) - 1;
        memcpy(name, from, n);
        name[n] = '\0';
        if (n) {
            if (printable_ascii(name) && !strpbrk(name, "\"\\()<>@,;:[]."))
                buf_append_str(out, name);
            else if (printable_ascii(name) && !strpbrk(name, "\"\\"))
                buf_appendf(out, "\"%s\"", name);
            else
                mail_header_value(out, name, 6);
            buf_append_char(out, ' ');
        }
    }
    buf_appendf(out, "<%s>\r\n", addr);
}

static void part(struct buf *out, const char *boundary, const char *type, const char *body)
{
    buf_appendf(out,
                "--%s\r\nContent-Type: %s; charset=utf-8\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                boundary, type);
    mail_qp(out, body, strlen(body));
    buf_append_str(out, "\r\n");
}

int mail_format(const struct mail_message *m, struct buf *out, struct err *err)
{
    char addr[256], date[MAIL_DATE_LEN];
    if (!m->from || !header_safe(m->from) || !mail_address_of(m->from, addr, sizeof(addr)))
        return err_set(err, ERR_INVALID, "mail: bad From");
    if (!mail_address_ok(m->to))
        return err_set(err, ERR_INVALID, "mail: bad recipient");
    if (!m->subject || !header_safe(m->subject) || !utf8_valid(m->subject, strlen(m->subject)))
        return err_set(err, ERR_INVALID, "mail: bad subject");
    if (!m->message_id || !header_safe(m->message_id) || m->message_id[0] != '<')
        return err_set(err, ERR_INVALID, "mail: bad Message-ID");
    if (m->unsubscribe_url && (!header_safe(m->unsubscribe_url) || strchr(m->unsubscribe_url, '>')))
        return err_set(err, ERR_INVALID, "mail: bad unsubscribe URL");
    if (!boundary_ok(m->boundary) || strstr(m->text, m->boundary) || strstr(m->html, m->boundary))
        return err_set(err, ERR_INVALID, "mail: unusable boundary");
    mail_format_date(m->date_ms, date);
    header(out, "Date", date);
    from_header(out, m->from, addr);
    buf_appendf(out, "To: <%s>\r\n", m->to);
    buf_append_str(out, "Subject: ");
    mail_header_value(out, m->subject, 9);
    buf_append_str(out, "\r\n");
    header(out, "Message-ID", m->message_id);
    header(out, "MIME-Version", "1.0");
    header(out, "Auto-Submitted", "auto-generated");
    if (m->unsubscribe_url) {
        buf_appendf(out, "List-Unsubscribe: <%s>\r\n", m->unsubscribe_url);
        header(out, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
    }
    buf_appendf(out, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", m->boundary);
    part(out, m->boundary, "text/plain", m->text);
    part(out, m->boundary, "text/html", m->html);
    buf_appendf(out, "--%s--\r\n", m->boundary);
    return 0;
}
