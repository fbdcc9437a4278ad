"""test_email_e2e.py - email end to end with the real binaries and a real SMTP server: aiosmtpd
(scripts/smtp-sink) storing into a Maildir; threadly-service requiring confirmation;
notification-service consuming its event feed and mailing through --smtp-url.
Register, read the confirmation mail from the sink, follow its link, log in; the password reset
mail; a follow mail with List-Unsubscribe, the preferences API and the RFC 8058 one-click POST;
the sink stopped while mail is due, then started: the mail arrives exactly once; a sink that
answers 550: the mail is dead-lettered. With THREADLY_TEST_DB=pgsql both services run on
PostgreSQL (the mail outbox in notification-service's database)."""
import email
import email.policy
import json
import mailbox
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import harness
from harness import Service

CORE = os.environ["THREADLY_CORE_BIN"]
NOTIF = os.environ["THREADLY_NOTIFICATION_BIN"]
SRC = os.environ["THREADLY_SOURCE_DIR"]
SINK = os.path.join(SRC, "scripts", "smtp-sink")
# In this helper's fixed range (25000-25099); the SQLite and PostgreSQL runs of this file may
# run at once (ctest -j), so each has its own sink.
PORT = 25022 if harness.PGSQL else 25021
FAST = ("--argon2-ops", "1", "--argon2-mem-kib", "8", "--signup-limit", "1000",
        "--login-limit", "1000")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
PUBLIC = "http://threadly.test"


def form(d):
    return urllib.parse.urlencode(d)


class EmailEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="threadly-mail-e2e-")
        cls.maildir = os.path.join(cls.dir, "Maildir")
        cls.sink("start")
        cls.data = os.path.join(cls.dir, "data")
        cls.core = Service(CORE, *FAST, "--require-email-confirmation", "true",
                           data_dir=cls.data)
        cls.notif = Service(NOTIF, "--events-url",
                            "http://127.0.0.1:%d/internal/v1/events" % cls.core.port,
                            "--events-wait", "1", "--public-url", PUBLIC,
                            "--smtp-url", "smtp://127.0.0.1:%d" % PORT,
                            "--smtp-from", "Threadly <noreply@threadly.test>",
                            "--mail-backoff-max", "1", "--mail-max-attempts", "30",
                            *(("--db", harness.pg_database_for(cls.data + "/notification"))
                              if harness.PGSQL else ()),
                            data_dir=cls.data)
        r, cls.app = cls.core.json("POST", "/api/v1/apps", json.dumps({
            "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow"}), JSON)
        assert r.status == 200, cls.app

    @classmethod
    def tearDownClass(cls):
        try:
            assert cls.notif.terminate() == 0, cls.notif.log_text()
            assert cls.core.terminate() == 0, cls.core.log_text()
        finally:
            cls.sink("stop")
            shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def sink(cls, cmd, handler=None):
        args = [SINK, cmd, str(PORT), cls.maildir] if cmd == "start" else [SINK, cmd, cls.maildir]
        if handler:
            args.append(handler)
        subprocess.run(args, check=True, timeout=30)

    # ---- helpers ----

    def mails_to(self, addr):
        md = mailbox.Maildir(self.maildir, factory=None, create=False)
        out = []
        for key in md.keys():
            m = email.message_from_bytes(md.get_bytes(key), policy=email.policy.default)
            if m["To"].addresses[0].addr_spec == addr:
                out.append(m)
        return out

    def wait_mail(self, addr, count=1, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.mails_to(addr)
            if len(got) >= count:
                return got
            time.sleep(0.1)
        self.fail("no mail %d to %s after %d s; notification log:\n%s" % (
            count, addr, timeout, self.notif.log_text()[-3000:]))

    def metric(self, name):
        r, data = self.notif.request("GET", "/metrics")
        m = re.search(r"^%s (\S+)$" % re.escape(name), data.decode(), re.M)
        return float(m.group(1)) if m else None

    def wait_metric(self, name, at_least, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = self.metric(name)
            if v is not None and v >= at_least:
                return v
            time.sleep(0.1)
        self.fail("%s stayed below %s" % (name, at_least))

    def sign_up(self, name, email_addr=None):
        r, j = self.core.json("POST", "/oauth/token", form({
            "grant_type": "client_credentials", "client_id": self.app["client_id"],
            "client_secret": self.app["client_secret"], "scope": "read write"}), FORM)
        r, tok = self.core.json("POST", "/api/v1/accounts", form({
            "username": name, "email": email_addr or name + "@example.org",
            "password": "long password", "agreement": "1", "locale": "en"}),
            dict(FORM, Authorization="Bearer " + j["access_token"]))
        self.assertEqual(r.status, 200, tok)
        return tok["access_token"]

    def login(self, name, password="long password"):
        return self.core.json("POST", "/oauth/token", form({
            "grant_type": "password", "client_id": self.app["client_id"],
            "client_secret": self.app["client_secret"], "username": name,
            "password": password, "scope": "read write follow"}), FORM)

    def link(self, text, path):
        m = re.search(re.escape(PUBLIC + path) + r"\?[^\s]+", text)
        self.assertIsNotNone(m, text)
        return m.group(0)[len(PUBLIC):]

    def confirm(self, name):
        (mail,) = self.wait_mail(name + "@example.org")
        path = self.link(mail.get_body(("plain",)).get_content(), "/auth/confirm")
        r, body = self.core.request("GET", path)
        self.assertEqual(r.status, 200, body)
        r, j = self.login(name)
        self.assertEqual(r.status, 200, j)
        return j["access_token"]

    # ---- cases ----

    def test_register_read_the_mail_follow_the_link_log_in(self):
        self.sign_up("erin")
        r, j = self.login("erin")
        self.assertEqual((r.status, j["error"]), (403,
                         "Your login is missing a confirmed e-mail address"))
        (mail,) = self.wait_mail("erin@example.org")
        self.assertEqual(str(mail["Subject"]), "Confirm your email address for Threadly")
        self.assertEqual(mail["From"].addresses[0].addr_spec, "noreply@threadly.test")
        self.assertIsNone(mail["List-Unsubscribe"])
        self.assertEqual([p.get_content_type() for p in mail.iter_parts()],
                         ["text/plain", "text/html"])
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        path = self.link(text, "/auth/confirm")
        self.assertIn('href="%s%s"' % (PUBLIC, path.replace("&", "&amp;")), html)
        r, body = self.core.request("GET", path)
        self.assertEqual(r.status, 200, body)
        r, j = self.login("erin")
        self.assertEqual(r.status, 200, j)
        r, body = self.core.request("GET", path)
        self.assertEqual(r.status, 404, "the link works once")
        time.sleep(0.5)
        self.assertEqual(len(self.mails_to("erin@example.org")), 1, "exactly one mail")

    def test_password_reset_mail(self):
        self.sign_up("rosa")
        old = {"Authorization": "Bearer " + self.confirm("rosa")}
        self.assertEqual(self.notif.json("GET", "/api/v1/notifications", headers=old)[0].status,
                         200)
        r, body = self.core.request("POST", "/auth/password", form({"email": "rosa@example.org"}),
                                    FORM)
        self.assertEqual(r.status, 200)
        mails = self.wait_mail("rosa@example.org", 2)
        reset = [m for m in mails if "Reset your password" in str(m["Subject"])]
        self.assertEqual(len(reset), 1)
        path = self.link(reset[0].get_body(("plain",)).get_content(), "/auth/password/edit")
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["token"][0]
        r, body = self.core.request("GET", path)
        self.assertEqual(r.status, 200)
        r, body = self.core.request("POST", "/auth/password/edit", form({
            "token": token, "password": "a new password"}), FORM)
        self.assertEqual(r.status, 200, body)
        self.assertEqual(self.login("rosa", "a new password")[0].status, 200)
        # the reset signed rosa out: threadly-service at once, notification-service once it
        # consumed account.tokens_revoked
        r, j = self.core.json("GET", "/api/v1/accounts/verify_credentials", headers=old)
        self.assertEqual(r.status, 401)
        deadline = time.time() + 10
        while time.time() < deadline:
            r, j = self.notif.json("GET", "/api/v1/notifications", headers=old)
            if r.status == 401:
                break
            time.sleep(0.1)
        self.assertEqual(r.status, 401, j)

    def test_follow_mail_preferences_and_one_click_unsubscribe(self):
        self.sign_up("fay")
        fay = self.confirm("fay")
        auth = {"Authorization": "Bearer " + fay}
        r, prefs = self.notif.json("GET", "/api/v1/threadly/email_preferences", headers=auth)
        self.assertEqual((r.status, prefs),
                         (200, {"follow": True, "mention": True, "favourite": False}))
        r, j = self.notif.json("GET", "/api/v1/threadly/email_preferences")
        self.assertEqual(r.status, 401)
        r, j = self.notif.json("PATCH", "/api/v1/threadly/email_preferences",
                               json.dumps({"favourite": "maybe"}), dict(JSON, **auth))
        self.assertEqual(r.status, 422)
        # Garbage: a body that is not JSON, values of the wrong type; nothing changes.
        for body, ctype in (('{"favourite": tru', JSON), ('[1, 2]', JSON),
                            ('{"follow": "yes please"}', JSON), ("\xff\xfe", FORM)):
            r, j = self.notif.json("PATCH", "/api/v1/threadly/email_preferences", body,
                                   dict(ctype, **auth))
            self.assertIn(r.status, (400, 422), (body, j))
            self.assertIn("error", j, body)
        r, prefs = self.notif.json("GET", "/api/v1/threadly/email_preferences", headers=auth)
        self.assertEqual(prefs, {"follow": True, "mention": True, "favourite": False})
        for q in ("", "?token=", "?token=x&kind=reblog", "?kind=follow"):
            r, body = self.notif.request("POST", "/mail/unsubscribe" + q,
                                         "List-Unsubscribe=One-Click", FORM)
            self.assertIn(r.status, (400, 404), q)
        r, prefs = self.notif.json("PATCH", "/api/v1/threadly/email_preferences",
                                   json.dumps({"favourite": True}), dict(JSON, **auth))
        self.assertEqual((r.status, prefs),
                         (200, {"follow": True, "mention": True, "favourite": True}))
        # Gus <b>ig</b> follows fay: a follow mail with escaped names and an unsubscribe link
        self.sign_up("gus")
        gus = self.confirm("gus")
        gus_auth = {"Authorization": "Bearer " + gus}
        r, j = self.core.json("PATCH", "/api/v1/accounts/update_credentials",
                              form({"display_name": "Gus <b>ig</b>"}), dict(FORM, **gus_auth))
        self.assertEqual(r.status, 200, j)
        r, me = self.core.json("GET", "/api/v1/accounts/lookup?acct=fay")
        r, j = self.core.json("POST", "/api/v1/accounts/%s/follow" % me["id"], None, gus_auth)
        self.assertEqual(r.status, 200, j)
        mails = self.wait_mail("fay@example.org", 2)
        follow = [m for m in mails if "followed you" in str(m["Subject"])]
        self.assertEqual(len(follow), 1)
        m = follow[0]
        self.assertEqual(str(m["Subject"]), "Gus <b>ig</b> (@gus) followed you")
        html = m.get_body(("html",)).get_content()
        self.assertIn("Gus &lt;b&gt;ig&lt;/b&gt;", html)
        self.assertNotIn("<b>ig</b>", html)
        self.assertEqual(m["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        unsub = m["List-Unsubscribe"].strip("<>")
        self.assertTrue(unsub.startswith(PUBLIC + "/mail/unsubscribe?token="), unsub)
        path = unsub[len(PUBLIC):]
        r, body = self.notif.request("GET", path)
        self.assertEqual(r.status, 200)
        self.assertIn(b'id="unsubscribe"', body)
        r, prefs = self.notif.json("GET", "/api/v1/threadly/email_preferences", headers=auth)
        self.assertTrue(prefs["follow"], "a GET changes nothing")
        r, body = self.notif.request("POST", path, "List-Unsubscribe=One-Click", FORM)
        self.assertEqual(r.status, 200, body)
        r, prefs = self.notif.json("GET", "/api/v1/threadly/email_preferences", headers=auth)
        self.assertEqual(prefs, {"follow": False, "mention": True, "favourite": True})
        r, body = self.notif.request("POST", "/mail/unsubscribe?token=nope&kind=follow",
                                     "List-Unsubscribe=One-Click", FORM)
        self.assertEqual(r.status, 404)
        # hal follows fay: the notification is made, no mail
        self.sign_up("hal")
        hal = self.confirm("hal")
        r, j = self.core.json("POST", "/api/v1/accounts/%s/follow" % me["id"], None,
                              {"Authorization": "Bearer " + hal})
        deadline = time.time() + 10
        while time.time() < deadline:
            r, notes = self.notif.json("GET", "/api/v1/notifications", headers=auth)
            if len(notes) >= 2:
                break
            time.sleep(0.1)
        self.assertEqual(len(notes), 2, notes)
        time.sleep(1)
        self.assertEqual(len(self.mails_to("fay@example.org")), 2, "no mail for hal's follow")

    def test_sink_down_then_up_every_mail_arrives_once(self):
        self.sink("stop")
        try:
            retried = self.metric("threadly_mail_retried_total") or 0
            self.sign_up("ivy")
            self.wait_metric("threadly_mail_retried_total", retried + 2)
            self.assertGreaterEqual(self.metric("threadly_mail_queue_depth"), 1)
            self.assertGreater(self.metric("threadly_mail_oldest_age_seconds"), 0)
            self.assertEqual(self.mails_to("ivy@example.org"), [])
        finally:
            self.sink("start")
        self.wait_mail("ivy@example.org")
        time.sleep(2.5)
        self.assertEqual(len(self.mails_to("ivy@example.org")), 1, "exactly once")
        self.assertEqual(self.metric("threadly_mail_queue_depth"), 0)

    def test_rejected_mail_is_dead_lettered(self):
        self.sink("stop")
        self.sink("start", "smtp_reject.RejectingMailbox")
        try:
            failed = self.metric("threadly_mail_failed_total") or 0
            dead = self.metric("threadly_mail_dead_letters") or 0
            self.sign_up("rejected", "reject-me@example.org")
            self.wait_metric("threadly_mail_failed_total", failed + 1)
            self.assertEqual(self.metric("threadly_mail_dead_letters"), dead + 1)
            self.assertEqual(self.mails_to("reject-me@example.org"), [])
        finally:
            self.sink("stop")
            self.sink("start")


if __name__ == "__main__":
    unittest.main()
