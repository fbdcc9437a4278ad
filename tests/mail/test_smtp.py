"""test_smtp.py - the SMTP adapter against a real SMTP server: aiosmtpd started by
scripts/smtp-sink, storing into a Maildir that is read back with Python's email package.
Mails are composed from the real templates by tests/mail/mail_send.c (hostile values) and
sent through mailer_smtp: headers, both MIME parts, escaping, dot lines, one connection for many
messages; a stopped sink is a transient error; a sink that answers 550 / 451 to some
recipients gives permanent / transient errors."""
import email
import email.policy
import email.utils
import json
import mailbox
import os
import subprocess
import tempfile
import unittest

SEND = os.environ["THREADLY_MAIL_SEND"]
SRC = os.environ["THREADLY_SOURCE_DIR"]
SINK = os.path.join(SRC, "scripts", "smtp-sink")
FROM = "Threadly <noreply@threadly.test>"
PORT = 25011  # this helper's fixed range is 25000-25099


def sink(cmd, *args):
    subprocess.run([SINK, cmd, *args], check=True, timeout=30)


def send(kind, count, *to, port=PORT):
    p = subprocess.run([SEND, "smtp://127.0.0.1:%d" % port, FROM, kind, str(count), *to],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    return lines[:-1], lines[-1]


def messages(maildir):
    md = mailbox.Maildir(maildir, factory=None, create=False)
    return [email.message_from_bytes(md.get_bytes(key), policy=email.policy.default)
            for key in md.keys()]


class SmtpTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="threadly-mail-")
        self.maildir = os.path.join(self.dir, "Maildir")

    def tearDown(self):
        sink("stop", self.maildir)

    def test_headers_parts_and_escaping(self):
        sink("start", str(PORT), self.maildir)
        results, total = send("mention", 3, "a@example.org", "b@example.org")
        self.assertEqual([r["result"] for r in results], ["sent"] * 3, results)
        self.assertEqual(total["connects"], 1, "one connection for every message")
        msgs = messages(self.maildir)
        self.assertEqual(len(msgs), 3)
        self.assertEqual(sorted(m["To"] for m in msgs),
                         ["a@example.org", "a@example.org", "b@example.org"])
        ids = set()
        for m in msgs:
            self.assertEqual(m["From"].addresses[0].addr_spec, "noreply@threadly.test")
            self.assertEqual(m["From"].addresses[0].display_name, "Threadly")
            self.assertEqual(str(m["Subject"]),
                             'Zoë <script>alert(1)</script> & "Co" (@zoe) mentioned you')
            self.assertRegex(m["Message-ID"], r"^<[^<>@\s]+@threadly\.test>$")
            ids.add(m["Message-ID"])
            self.assertIsNotNone(email.utils.parsedate_to_datetime(m["Date"]))
            self.assertEqual(m["MIME-Version"], "1.0")
            self.assertEqual(m["List-Unsubscribe"],
                             "<http://threadly.test/mail/unsubscribe?token=tok>")
            self.assertEqual(m["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
            self.assertEqual(m.get_content_type(), "multipart/alternative")
            parts = list(m.iter_parts())
            self.assertEqual([p.get_content_type() for p in parts], ["text/plain", "text/html"])
            text, html = parts[0].get_content(), parts[1].get_content()
            self.assertEqual(parts[0].get_content_charset(), "utf-8")
            # the text part keeps what people typed, dot and "From" lines included
            self.assertIn('Zoë <script>alert(1)</script> & "Co"', text)
            self.assertIn("\n.a line starting with a dot\nFrom here", text)
            self.assertIn("http://threadly.test/mail/unsubscribe?token=tok&kind=follow", text)
            # the HTML part escapes every user-supplied string
            self.assertNotIn("<script>", html)
            self.assertNotIn("<b>@you</b>", html)
            self.assertIn("Zoë &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;", html)
            self.assertIn("Hello &lt;b&gt;@you&lt;/b&gt; &amp; friends", html)
            self.assertIn('href="http://threadly.test/mail/unsubscribe?token=tok&amp;kind=follow"',
                          html)
        self.assertEqual(len(ids), 3, "a Message-ID per message")

    def test_transactional_mail_has_no_unsubscribe_header(self):
        sink("start", str(PORT), self.maildir)
        results, _ = send("confirmation", 1, "new@example.org")
        self.assertEqual(results[0]["result"], "sent")
        (m,) = messages(self.maildir)
        self.assertIsNone(m["List-Unsubscribe"])
        self.assertEqual(str(m["Subject"]), "Confirm your email address for Threadly")
        html = m.get_body(("html",)).get_content()
        self.assertIn('href="http://threadly.test/auth/confirm?token=abc&amp;x=&lt;y&gt;"', html)
        text = m.get_body(("plain",)).get_content()
        self.assertIn("http://threadly.test/auth/confirm?token=abc&x=<y>", text)

    def test_stopped_sink_is_a_transient_error(self):
        results, total = send("follow", 2, "a@example.org")
        self.assertEqual([r["result"] for r in results], ["transient"] * 2, results)
        self.assertIn("smtp", results[0]["error"])
        # started again, the same mailer process would succeed: a new one does
        sink("start", str(PORT), self.maildir)
        results, total = send("follow", 1, "a@example.org")
        self.assertEqual(results[0]["result"], "sent")

    def test_rejections_are_permanent_or_transient(self):
        sink("start", str(PORT), self.maildir, "smtp_reject.RejectingMailbox")
        results, total = send("follow", 4, "reject@example.org", "later@example.org",
                              "ok@example.org", "ok2@example.org")
        self.assertEqual([r["result"] for r in results],
                         ["permanent", "transient", "sent", "sent"], results)
        self.assertIn("550", results[0]["error"])
        self.assertIn("451", results[1]["error"])
        self.assertEqual(sorted(m["To"] for m in messages(self.maildir)),
                         ["ok2@example.org", "ok@example.org"])


if __name__ == "__main__":
    unittest.main()
