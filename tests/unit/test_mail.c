/* test_mail.c - the mail domain: template rendering and escaping, every shipped template,
 * RFC 2047 subjects, quoted-printable bodies and the RFC 5322 / MIME text of a message. */
#include "services/notification/domain/mail.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* ---- decoders for the checks ---- */

static int b64val(char c)
{
    const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(tab, c);
    return c && p ? (int)(p - tab) : -1;
}

/* Decodes one base64 text s[0..n) into out; returns the length. */
static size_t unbase64(const char *s, size_t n, char *out)
{
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int d = b64val(s[i]);
        cr_assert_geq(d, 0, "bad base64 %c", s[i]);
        v = (v << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((v >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return o;
}

/* Decodes an RFC 2047 header value made of "=?UTF-8?B?...?=" words joined by CRLF SP. */
static void unheader(const char *s, char *out)
{
    out[0] = '\0';
    while (*s) {
        cr_assert(strncmp(s, "=?UTF-8?B?", 10) == 0, "not an encoded word: %s", s);
        const char *end = strstr(s + 10, "?=");
        cr_assert_not_null(end);
        cr_assert_leq((size_t)(end + 2 - s), 75, "encoded word longer than 75");
        char word[128];
        size_t n = unbase64(s + 10, (size_t)(end - s - 10), word);
        cr_assert(utf8_valid(word, n), "a word splits a UTF-8 sequence");
        strcat(out, word);
        s = end + 2;
        if (strncmp(s, "\r\n ", 3) == 0)
            s += 3;
    }
}

static size_t unqp(const char *s, char *out)
{
    size_t o = 0;
    for (size_t i = 0; s[i];) {
        if (s[i] == '=' && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 3;
        } else if (s[i] == '=') {
            unsigned v;
            cr_assert_eq(sscanf(s + i + 1, "%2X", &v), 1);
            out[o++] = (char)v;
            i += 3;
        } else if (s[i] == '\r' && s[i + 1] == '\n') {
            out[o++] = '\n';
            i += 2;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return o;
}

static void assert_lines_within(const char *s, size_t max)
{
    for (const char *p = s; *p;) {
        const char *e = strstr(p, "\r\n");
        cr_assert_not_null(e, "line without CRLF: %s", p);
        cr_assert_leq((size_t)(e - p), max, "line too long: %.*s", (int)(e - p), p);
        p = e + 2;
    }
}

/* ---- rendering ---- */

Test(mail, render_substitutes_and_escapes_in_html_only)
{
    struct buf b = BUF_INIT;
    struct err err = {0};
    struct mail_var vars[] = {{"who", "<b>Zoë</b> & \"co\" 'x'"}, {"n", "3"}};
    cr_assert_eq(mail_render("{{who}} has {{n}}.", vars, 2, false, &b, &err), 0);
    cr_assert_str_eq(b.data, "<b>Zoë</b> & \"co\" 'x' has 3.");
    buf_reset(&b);
    cr_assert_eq(mail_render("<p>{{who}}</p>", vars, 2, true, &b, &err), 0);
    cr_assert(strstr(b.data, "&lt;b&gt;Zoë&lt;/b&gt; &amp; &quot;co&quot;"), "%s", b.data);
    cr_assert_null(strstr(b.data, "<b>"));
    cr_assert_null(strstr(b.data, "'x'"), "single quotes escaped too: %s", b.data);
    buf_reset(&b);
    cr_assert_eq(mail_render("{{missing}}", vars, 2, false, &b, &err), ERR_INVALID);
    cr_assert(strstr(err.msg, "missing"));
    cr_assert_eq(mail_render("oops {{who", vars, 2, false, &b, &err), ERR_INVALID);
    buf_reset(&b);
    /* a value that looks like a placeholder is not expanded again */
    struct mail_var sneaky[] = {{"a", "{{b}}"}, {"b", "secret"}};
    cr_assert_eq(mail_render("{{a}}", sneaky, 2, false, &b, &err), 0);
    cr_assert_str_eq(b.data, "{{b}}");
    buf_release(&b);
}

static const struct mail_var all_vars[] = {
    {"instance", "Threadly"},
    {"username", "alice"},
    {"link", "https://t.example/auth/confirm?token=a&b=<c>"},
    {"ttl_hours", "24"},
    {"actor", "<script>alert(1)</script>"},
    {"actor_acct", "mallory"},
    {"actor_url", "https://t.example/@mallory"},
    {"status_text", "<img src=x onerror=alert(1)> & more"},
    {"status_url", "https://t.example/@mallory/1"},
    {"unsubscribe_url", "https://t.example/mail/unsubscribe?token=t&kind=follow"},
    {"count", "4"},
    {"what", "followers"},
    {"names", "<b>bob</b>, carol"},
    {"notifications_url", "https://t.example/notifications"},
    {"kind", "follow"},
    {"window_minutes", "60"},
};

Test(mail, every_template_composes_and_escapes_user_text)
{
    for (int k = 0; k < MAIL_KIND_COUNT; k++) {
        struct arena a;
        struct mail_parts p;
        struct err err = {0};
        arena_init(&a, 0);
        cr_assert_eq(mail_compose(&mail_templates[k], all_vars,
                                  sizeof(all_vars) / sizeof(all_vars[0]), &a, &p, &err),
                     0, "%s: %s", mail_kind_name(k), err.msg);
        cr_assert_gt(strlen(p.subject), 5, "%s", mail_kind_name(k));
        cr_assert_null(strchr(p.subject, '\n'));
        cr_assert_null(strstr(p.html, "<script"), "%s", mail_kind_name(k));
        cr_assert_null(strstr(p.html, "<img"), "%s", mail_kind_name(k));
        cr_assert_null(strstr(p.html, "<b>bob"), "%s", mail_kind_name(k));
        cr_assert_null(strstr(p.html, "{{"), "%s", mail_kind_name(k));
        cr_assert_null(strstr(p.text, "{{"), "%s", mail_kind_name(k));
        cr_assert_null(strstr(p.text, "Subject:"), "%s", mail_kind_name(k));
        if (mail_kind_is_notification(k)) {
            cr_assert(strstr(p.text, "https://t.example/mail/unsubscribe?token=t&kind=follow"),
                      "%s: the text has the unsubscribe link", mail_kind_name(k));
            cr_assert(strstr(p.html, "https://t.example/mail/unsubscribe?token=t&amp;kind=follow"),
                      "%s: the html has it escaped", mail_kind_name(k));
        } else {
            cr_assert(strstr(p.html, "token=a&amp;b=&lt;c&gt;"), "%s", mail_kind_name(k));
        }
        arena_release(&a);
    }
    enum mail_kind k;
    cr_assert(mail_kind_parse("favourite", &k) && k == MAIL_FAVOURITE);
    cr_assert_not(mail_kind_parse("reblog", &k));
    cr_assert_not(mail_kind_is_notification(MAIL_CONFIRMATION));
    cr_assert(mail_kind_is_notification(MAIL_DIGEST));
}

Test(mail, compose_makes_controls_in_the_subject_spaces)
{
    struct arena a;
    struct mail_parts p;
    struct err err = {0};
    arena_init(&a, 0);
    struct mail_var v[] = {{"actor", "Eve\r\nBcc: victim@example.org"},
                           {"actor_acct", "eve"},
                           {"username", "u"},
                           {"instance", "T"},
                           {"actor_url", "u"},
                           {"unsubscribe_url", "x"}};
    cr_assert_eq(mail_compose(&mail_templates[MAIL_FOLLOW], v, 6, &a, &p, &err), 0, "%s", err.msg);
    cr_assert_null(strpbrk(p.subject, "\r\n"));
    cr_assert(strstr(p.subject, "Eve  Bcc: victim"));
    arena_release(&a);
}

/* ---- headers, bodies, messages ---- */

Test(mail, ascii_subjects_pass_and_utf8_ones_are_encoded_words)
{
    struct buf b = BUF_INIT;
    char out[1024];
    mail_header_value(&b, "Plain subject", 9);
    cr_assert_str_eq(b.data, "Plain subject");
    buf_reset(&b);
    mail_header_value(&b, "Zoë liked your post 🧵", 9);
    unheader(b.data, out);
    cr_assert_str_eq(out, "Zoë liked your post 🧵");
    buf_reset(&b);
    /* long: several words, folded, none splitting a sequence */
    char longs[600] = "";
    for (int i = 0; i < 40; i++)
        strcat(longs, "ñé🧵");
    mail_header_value(&b, longs, 9);
    cr_assert(strstr(b.data, "\r\n "), "folded");
    unheader(b.data, out);
    cr_assert_str_eq(out, longs);
    buf_reset(&b);
    /* ASCII that looks like an encoded word, or too long for the line, is encoded */
    mail_header_value(&b, "=?UTF-8?B?x?=", 9);
    unheader(b.data, out);
    cr_assert_str_eq(out, "=?UTF-8?B?x?=");
    buf_release(&b);
}

Test(mail, quoted_printable)
{
    struct buf b = BUF_INIT;
    char out[4096];
    const char *in = "a=b café\n.dot line\nFrom me\ntrailing space \n" /* */
                     "0123456789012345678901234567890123456789012345678901234567890123456789"
                     "01234567890123456789 end\r\nlast";
    mail_qp(&b, in, strlen(in));
    buf_append_str(&b, "\r\n");
    assert_lines_within(b.data, 76);
    cr_assert(strstr(b.data, "a=3Db caf=C3=A9\r\n"), "%s", b.data);
    cr_assert(strstr(b.data, "\r\n=2Edot line"), "%s", b.data);
    cr_assert(strstr(b.data, "\r\n=46rom me"), "%s", b.data);
    cr_assert(strstr(b.data, "space=20\r\n"), "%s", b.data);
    cr_assert_null(strstr(b.data, "\r\r"));
    unqp(b.data, out);
    cr_assert_str_eq(out, "a=b café\n.dot line\nFrom me\ntrailing space \n"
                          "0123456789012345678901234567890123456789012345678901234567890123456789"
                          "01234567890123456789 end\nlast\n");
    buf_release(&b);
}

Test(mail, date_and_addresses)
{
    char d[MAIL_DATE_LEN], addr[256];
    mail_format_date(1795957323004LL, d);
    cr_assert_str_eq(d, "Sun, 29 Nov 2026 13:02:03 +0000");
    mail_format_date(0, d);
    cr_assert_str_eq(d, "Thu, 01 Jan 1970 00:00:00 +0000");
    mail_format_date(951782400000LL, d);
    cr_assert_str_eq(d, "Tue, 29 Feb 2000 00:00:00 +0000");
    mail_format_date(4102444799999LL, d);
    cr_assert_str_eq(d, "Thu, 31 Dec 2099 23:59:59 +0000");
    cr_assert(mail_address_of("Threadly <noreply@threadly.example>", addr, sizeof(addr)));
    cr_assert_str_eq(addr, "noreply@threadly.example");
    cr_assert(mail_address_of(" noreply@t.example ", addr, sizeof(addr)));
    cr_assert_str_eq(addr, "noreply@t.example");
    cr_assert_not(mail_address_of("Threadly <noreply>", addr, sizeof(addr)));
    cr_assert_not(mail_address_of("Threadly <a@b.c", addr, sizeof(addr)));
    cr_assert(mail_address_ok("first.last+tag@sub.example.org"));
    cr_assert_not(mail_address_ok("a b@example.org"));
    cr_assert_not(mail_address_ok("a@example.org\r\nBcc: x@y.z"));
    cr_assert_not(mail_address_ok("a<@example.org"));
    cr_assert_not(mail_address_ok("a@localhost"));
}

static struct mail_message message(void)
{
    return (struct mail_message){.from = "Threadly Ünïcode <noreply@t.example>",
                                 .to = "alice@example.org",
                                 .subject = "Zoë followed you",
                                 .text = "Hello\n<b>not html</b>\n",
                                 .html = "<p>Hello &amp; welcome</p>",
                                 .message_id = "<1.2@t.example>",
                                 .boundary = "=_threadly_abc",
                                 .date_ms = 1795957323004LL,
                                 .unsubscribe_url = "https://t.example/mail/unsubscribe?token=x"};
}

Test(mail, format_writes_rfc5322_and_mime)
{
    struct mail_message m = message();
    struct buf b = BUF_INIT;
    struct err err = {0};
    char out[4096];
    cr_assert_eq(mail_format(&m, &b, &err), 0, "%s", err.msg);
    assert_lines_within(b.data, 998);
    const char *body = strstr(b.data, "\r\n\r\n");
    cr_assert_not_null(body);
    assert_lines_within(body + 4, 76);
    cr_assert(strstr(b.data, "Date: Sun, 29 Nov 2026 13:02:03 +0000\r\n"));
    cr_assert(strstr(b.data, "\r\nFrom: =?UTF-8?B?"), "%s", b.data);
    cr_assert(strstr(b.data, " <noreply@t.example>\r\n"));
    cr_assert(strstr(b.data, "\r\nTo: <alice@example.org>\r\n"));
    cr_assert(strstr(b.data, "\r\nSubject: =?UTF-8?B?"));
    cr_assert(strstr(b.data, "\r\nMessage-ID: <1.2@t.example>\r\n"));
    cr_assert(strstr(b.data, "\r\nMIME-Version: 1.0\r\n"));
    cr_assert(
        strstr(b.data, "\r\nList-Unsubscribe: <https://t.example/mail/unsubscribe?token=x>\r\n"));
    cr_assert(strstr(b.data, "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
    cr_assert(strstr(b.data, "Content-Type: multipart/alternative; boundary=\"=_threadly_abc\""));
    const char *plain = strstr(b.data, "--=_threadly_abc\r\nContent-Type: text/plain; charset=utf-8"
                                       "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    const char *html = strstr(b.data, "--=_threadly_abc\r\nContent-Type: text/html; charset=utf-8"
                                      "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    cr_assert(plain && html && plain < html, "text/plain first, then text/html");
    cr_assert(strstr(b.data, "\r\n--=_threadly_abc--\r\n"));
    const char *subj = strstr(b.data, "Subject: ") + 9;
    char subject[256];
    size_t n = (size_t)(strstr(subj, "\r\nMessage-ID") - subj);
    memcpy(subject, subj, n);
    subject[n] = '\0';
    unheader(subject, out);
    cr_assert_str_eq(out, "Zoë followed you");
    buf_release(&b);
    /* transactional mail: no List-Unsubscribe */
    m.unsubscribe_url = NULL;
    cr_assert_eq(mail_format(&m, &b, &err), 0);
    cr_assert_null(strstr(b.data, "List-Unsubscribe"));
    buf_release(&b);
}

Test(mail, format_refuses_header_injection_and_bad_input)
{
    struct buf b = BUF_INIT;
    struct err err = {0};
    struct mail_message m = message();
    m.subject = "hi\r\nBcc: victim@example.org";
    cr_assert_eq(mail_format(&m, &b, &err), ERR_INVALID);
    m = message();
    m.to = "alice@example.org\r\nBcc: victim@example.org";
    cr_assert_eq(mail_format(&m, &b, &err), ERR_INVALID);
    m = message();
    m.from = "Threadly\n <noreply@t.example>";
    cr_assert_eq(mail_format(&m, &b, &err), ERR_INVALID);
    m = message();
    m.unsubscribe_url = "https://x>\r\nBcc: v@x.y";
    cr_assert_eq(mail_format(&m, &b, &err), ERR_INVALID);
    m = message();
    m.subject = "\xff\xfe";
    cr_assert_eq(mail_format(&m, &b, &err), ERR_INVALID);
    m = message();
    m.boundary = "bad boundary";
    cr_assert_eq(mail_format(&m, &b, &err), ERR_INVALID);
    m = message();
    m.text = "a body that contains =_threadly_abc";
    cr_assert_eq(mail_format(&m, &b, &err), ERR_INVALID);
    buf_release(&b);
}
