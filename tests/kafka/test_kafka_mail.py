"""test_kafka_mail.py - mail jobs through Kafka (docs/email.md, "mail-events") end to end on a
REAL Apache Kafka broker: threadly-service and notification-service on --events-transport kafka,
notification-service mailing through an aiosmtpd sink (scripts/smtp-sink).
A sign-up's confirmation mail is published as mail.requested on mail-events (checked on the
topic) and arrives in the sink once; a mail the sink refuses (550) is published to
mail-events.dlq as mail.failed with its reason; garbage produced to mail-events is published to
mail-events.dlq with the reason and the mail consumer goes on; notification-service killed (-9)
after the request was published but before the mail could be sent (the sink stopped), then
restarted: exactly one mail. And, on a broker of its own that is stopped while a refused
mail is due: the mail stays queued (not marked dead) until the broker is back, then its
mail.failed is on mail-events.dlq once.

The broker is TEST_KAFKA_BOOTSTRAP (scripts/test, or tests/kafka/run.sh starts one); the test
uses its own topic prefix and consumer groups. Without a real broker it prints SKIP (the two
services are separate processes: librdkafka's mock cluster lives inside one), or fails when
TEST_REQUIRE names kafka."""
import email
import email.policy
import json
import mailbox
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))

from kafka_env import real_broker, wait_until  # noqa: E402
from harness import Service, metric  # noqa: E402
from test_events_feed import Client, feed  # noqa: E402

CORE = os.environ["THREADLY_CORE_BIN"]
NOTIF = os.environ["THREADLY_NOTIFICATION_BIN"]
TOOL = os.environ["THREADLY_KAFKA_TOOL"]
ROOT = os.environ.get("THREADLY_SOURCE_DIR", os.path.join(HERE, "..", ".."))
SINK = os.path.join(ROOT, "scripts", "smtp-sink")
BOOTSTRAP = real_broker("kafka mail test", "the mail-events test")
SMTP_PORT = int(os.environ.get("THREADLY_TEST_KAFKA_MAIL_SMTP_PORT", "21025"))
FAST = ("--argon2-ops", "1", "--argon2-mem-kib", "8", "--signup-limit", "1000",
        "--login-limit", "1000", "--public-url", "http://threadly.test")


class Stack:
    """threadly-service and notification-service on one data dir, both on Kafka (a topic prefix
    and groups of their own), and the SMTP sink notification-service mails to."""

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.dir = tempfile.mkdtemp(prefix="threadly-kafka-mail-")
        self.maildir = os.path.join(self.dir, "Maildir")
        self.prefix = "m%s." % uuid.uuid4().hex[:10]
        self.group = self.prefix + "notification-service"
        self.data = os.path.join(self.dir, "data")
        self.core = self.notif = None
        self.sink("start")
        self.core = Service(CORE, *FAST, "--events-transport", "kafka", "--kafka-bootstrap",
                            bootstrap, "--kafka-topic-prefix", self.prefix, data_dir=self.data)
        self.notif = self.start_notif()
        self.client = Client(self.core)

    def start_notif(self):
        return Service(NOTIF, "--events-transport", "kafka", "--kafka-bootstrap", self.bootstrap,
                       "--kafka-topic-prefix", self.prefix, "--kafka-group", self.group,
                       "--kafka-session-timeout-ms", "6000", "--events-backoff-max-ms", "500",
                       "--public-url", "http://threadly.test",
                       "--smtp-url", "smtp://127.0.0.1:%d" % SMTP_PORT,
                       "--smtp-from", "Threadly <noreply@threadly.test>",
                       "--mail-backoff-max", "1", "--mail-max-attempts", "30",
                       data_dir=self.data)

    def stop(self):
        """Stops everything; the exit statuses of notification-service and threadly-service."""
        try:
            return [svc.terminate() if svc else 0 for svc in (self.notif, self.core)]
        finally:
            self.sink("stop")
            shutil.rmtree(self.dir, ignore_errors=True)

    def sink(self, cmd, handler=None):
        args = ([SINK, cmd, str(SMTP_PORT), self.maildir] if cmd == "start"
                else [SINK, cmd, self.maildir])
        if handler:
            args.append(handler)
        subprocess.run(args, check=True, timeout=30)

    def mails_to(self, addr):
        if not os.path.isdir(self.maildir):
            return []
        md = mailbox.Maildir(self.maildir, factory=None, create=False)
        out = []
        for key in md.keys():
            m = email.message_from_bytes(md.get_bytes(key), policy=email.policy.default)
            if m["To"].addresses[0].addr_spec == addr:
                out.append(m)
        return out

    def wait_mail(self, addr, timeout=30):
        got = wait_until(lambda: self.mails_to(addr), timeout)
        assert got, "no mail to %s after %d s; notification log:\n%s" % (
            addr, timeout, self.notif.log_text()[-3000:])
        return got

    def until(self, topic, needle, seconds=40):
        """(key, envelope or raw text) of the messages on topic from its beginning up to the
        first whose text has needle (other partitions may not have been read to their end)."""
        return self._read(topic, seconds, ["until", str(seconds), needle],
                          "%r not on %s within %d s" % (needle, topic, seconds))

    def dump(self, topic, count, seconds=40):
        """(key, envelope or raw text) of the first count messages on topic, every partition."""
        return self._read(topic, seconds, ["dump", str(count), str(seconds)],
                          "%d messages not on %s within %d s" % (count, topic, seconds))

    def _read(self, topic, seconds, how, what):
        group = self.prefix + "probe-" + uuid.uuid4().hex
        args = [TOOL, how[0], self.bootstrap, self.prefix, group] + how[1:] + [topic]
        p = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 30)
        assert p.returncode == 0, "%s: %s\n%s" % (what, p.stderr, p.stdout[-2000:])
        out = []
        for line in p.stdout.splitlines():
            t, part, off, key, value = line.split("\t", 4)
            assert t == topic, line
            try:
                out.append((key, json.loads(value)))
            except ValueError:  # garbage produced to mail-events by a test
                out.append((key, value))
        return out

    def sign_up(self, name):
        return self.client.sign_up(name)


class KafkaMailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Stack(BOOTSTRAP)
        cls.core = cls.s.core

    @classmethod
    def tearDownClass(cls):
        log = cls.s.notif.log_text()[-3000:]
        rcs = cls.s.stop()
        assert rcs == [0, 0], (rcs, log)

    @property
    def notif(self):
        return self.s.notif

    def sink(self, *args):
        self.s.sink(*args)

    def mails_to(self, addr):
        return self.s.mails_to(addr)

    def wait_mail(self, addr, timeout=30):
        return self.s.wait_mail(addr, timeout)

    def until(self, topic, needle, seconds=40):
        return self.s.until(topic, needle, seconds)

    def sign_up(self, name):
        return self.s.sign_up(name)

    # ---- cases ----

    def test_1_confirmation_mail_goes_through_mail_events(self):
        for check in ("kafka", "kafka_mail"):
            r, j = wait_until(lambda: (lambda rj: rj[0].status == 200 and rj)(
                self.notif.json("GET", "/ready")), 30) or self.notif.json("GET", "/ready")
            self.assertEqual(r.status, 200, j)
            self.assertEqual(j["checks"][check], "ok", j)
        self.assertEqual(metric(self.notif, "notification_mail_kafka_up"), 1)
        self.assertIsNotNone(metric(self.notif, "notification_mail_consumer_lag_messages"))
        uid = self.sign_up("amy")
        (mail,) = self.wait_mail("amy@example.org")
        self.assertEqual(str(mail["Subject"]), "Confirm your email address for Threadly")
        self.assertIn("http://threadly.test/auth/confirm?token=",
                      mail.get_body(("plain",)).get_content())
        # On mail-events: a mail.requested keyed by the recipient, answering account.created.
        created = [e["event"] for e in feed(self.core, after=0, limit=100)[1]["events"]
                   if e["event"]["type"] == "account.created" and e["event"]["key"] == uid]
        self.assertEqual(len(created), 1)
        msgs = self.until("mail-events", '"recipient_id":"%s"' % uid)
        key, ev = msgs[-1]
        self.assertEqual(key, uid)
        self.assertEqual((ev["type"], ev["version"], ev["producer"], ev["key"]),
                         ("mail.requested", 1, "notification-service", uid))
        d = ev["data"]
        self.assertEqual((d["event_id"], d["recipient_id"], d["kind"], d["email"], d["username"]),
                         (created[0]["id"], uid, "confirmation", "amy@example.org", "amy"))
        self.assertEqual(d["token"], created[0]["data"]["confirmation_token"])
        self.assertGreaterEqual(metric(self.notif, "notification_mail_requests_published_total"),
                                1)
        self.assertGreaterEqual(metric(self.notif, "notification_mail_requests_consumed_total"), 1)
        time.sleep(1)
        self.assertEqual(len(self.mails_to("amy@example.org")), 1, "exactly one mail")

    def test_2_rejected_mail_is_published_to_the_dlq(self):
        self.sink("stop")
        self.sink("start", "smtp_reject.RejectingMailbox")
        try:
            dead = metric(self.notif, "threadly_mail_dead_letters") or 0
            uid = self.sign_up("rejectme")
            msgs = self.until("mail-events.dlq", '"recipient_id":"%s"' % uid)
            key, ev = msgs[-1]
            self.assertEqual(key, uid)
            self.assertEqual((ev["type"], ev["version"], ev["key"]), ("mail.failed", 1, uid))
            d = ev["data"]
            self.assertEqual((d["recipient_id"], d["kind"], d["to"], d["attempts"]),
                             (uid, "confirmation", "rejectme@example.org", 1))
            self.assertRegex(d["reason"], r"^refused: .*550")
            self.assertNotIn("token", json.dumps(d), "the link is not copied to the dlq")
            self.assertEqual(wait_until(lambda: metric(
                self.notif, "threadly_mail_dead_letters") == dead + 1, 10), True)
            self.assertGreaterEqual(metric(self.notif, "notification_mail_dlq_published_total"), 1)
            self.assertEqual(self.mails_to("rejectme@example.org"), [])
        finally:
            self.sink("stop")
            self.sink("start")

    def test_3_garbage_on_mail_events_goes_to_the_dlq_and_the_consumer_goes_on(self):
        dead0 = metric(self.notif, "notification_mail_requests_dead_lettered_total")

        def envelope(version=1, typ="mail.requested", key="5", **data):
            return json.dumps({"id": "9%d" % len(data), "type": typ, "version": version,
                               "occurred_at": "2026-11-24T01:02:03.000Z", "producer": "x",
                               "key": key, "data": data})
        good = {"event_id": "12", "recipient_id": "5", "kind": "follow", "actor_acct": "x"}
        garbage = [
            ("1", "this is not json", "not JSON|JSON|json"),
            ("5", envelope(version=2, **good), "version 2"),
            ("5", envelope(typ="mail.sent", **good), "mail.sent is not mail.requested"),
            ("5", envelope(**dict(good, recipient_id="0")), "recipient_id"),
            ("5", envelope(**dict(good, kind="digest")), "kind"),
            ("5", envelope(**{k: v for k, v in good.items() if k != "actor_acct"}),
             "actor_acct"),
            ("6", envelope(**good), "key is not the recipient_id"),
        ]
        for key, value, _ in garbage:
            p = subprocess.run([TOOL, "send", BOOTSTRAP, self.s.prefix, "mail-events", key, value],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(wait_until(lambda: metric(
            self.notif, "notification_mail_requests_dead_lettered_total") >= dead0 + 7, 30), True,
            self.notif.log_text()[-3000:])
        # Every message on the dlq (the garbage's keys land on different partitions).
        msgs = self.s.dump("mail-events.dlq", int(metric(
            self.notif, "notification_mail_dlq_published_total")))
        failed = [ev["data"] for _, ev in msgs if ev["type"] == "mail.failed"
                  and "source" in ev["data"]]  # the dlq holds only envelopes
        self.assertEqual(len(failed), 7, failed)
        by_value = {d["value"]: d for d in failed}
        for key, value, reason in garbage:
            d = by_value[value]
            self.assertRegex(d["reason"], reason)
            self.assertEqual(d["source"]["topic"], "mail-events")
            self.assertEqual(d["source"]["key"], key)
        # The consumer went on: the next mail arrives.
        self.sign_up("bea")
        self.wait_mail("bea@example.org")
        self.assertEqual(metric(self.notif, "notification_mail_kafka_up"), 1)

    def test_4_killed_between_publish_and_send_one_mail(self):
        self.sink("stop")
        try:
            retried = metric(self.notif, "threadly_mail_retried_total")
            uid = self.sign_up("kim")
            self.until("mail-events", '"recipient_id":"%s"' % uid)
            # Published, taken by the outbox, not sent: the sink is down.
            self.assertEqual(wait_until(lambda: metric(
                self.notif, "threadly_mail_retried_total") > retried, 20), True)
            self.assertEqual(self.mails_to("kim@example.org"), [])
            self.s.notif.kill()
            self.s.notif.terminate()
            # And a request on the topic that no consumer has taken yet, published twice (as a
            # crash between publish and commit does): one mail.
            req = json.dumps({
                "id": "4242", "type": "mail.requested", "version": 1,
                "occurred_at": "2026-11-24T01:02:03.000Z", "producer": "notification-service",
                "key": "424242", "data": {
                    "event_id": "4243", "recipient_id": "424242", "kind": "password_reset",
                    "email": "zed@example.org", "username": "zed", "token": "tok-zed"}})
            for _ in range(2):
                p = subprocess.run([TOOL, "send", BOOTSTRAP, self.s.prefix, "mail-events",
                                    "424242", req], capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            self.sink("start")
        self.s.notif = self.s.start_notif()
        self.wait_mail("kim@example.org", 60)
        (zed,) = self.wait_mail("zed@example.org", 30)
        self.assertIn("http://threadly.test/auth/password/edit?token=tok-zed",
                      zed.get_body(("plain",)).get_content())
        time.sleep(3)
        self.assertEqual(len(self.mails_to("kim@example.org")), 1, "exactly one mail")
        self.assertEqual(len(self.mails_to("zed@example.org")), 1, "exactly one mail")
        for name in ("amy", "bea"):
            self.assertEqual(len(self.mails_to(name + "@example.org")), 1, name)


class KafkaMailOutageTest(unittest.TestCase):
    """The broker stopped when a mail is refused: the dead letter is not lost. On a broker of its
    own (scripts/kafka on THREADLY_TEST_KAFKA_MAIL_OUTAGE_PORT, 21092, and the port after it),
    since the shared one must stay up."""

    def test_a_dead_letter_waits_for_the_broker(self):
        port = int(os.environ.get("THREADLY_TEST_KAFKA_MAIL_OUTAGE_PORT", "21092"))
        kafka = os.path.join(ROOT, "scripts", "kafka")
        kdir = tempfile.mkdtemp(prefix="threadly-kafka-mail-outage-")
        start = subprocess.run([kafka, "start", kdir, str(port), str(port + 1)],
                               capture_output=True, text=True, timeout=180)
        if start.returncode != 0:
            shutil.rmtree(kdir, ignore_errors=True)
            self.skipTest("own broker for the outage did not start: " + start.stderr[-500:])
        bootstrap = start.stdout.strip()
        print("outage test: its own Apache Kafka broker at %s" % bootstrap, file=sys.stderr)
        st = None
        try:
            st = Stack(bootstrap)
            st.sign_up("first")
            st.wait_mail("first@example.org", 60)
            # A mail waits in the outbox behind a stopped sink; then the broker goes away, and
            # the sink comes back refusing it.
            st.sink("stop")
            retried = metric(st.notif, "threadly_mail_retried_total")
            uid = st.sign_up("rejectlater")
            self.assertEqual(wait_until(lambda: metric(
                st.notif, "threadly_mail_retried_total") > retried, 30), True)
            subprocess.run([kafka, "stop", kdir], check=True, timeout=120, capture_output=True)
            st.sink("start", "smtp_reject.RejectingMailbox")
            self.assertEqual(wait_until(lambda: metric(
                st.notif, "threadly_mail_dead_letters_deferred_total") >= 1, 30), True,
                st.notif.log_text()[-2000:])
            self.assertEqual(metric(st.notif, "threadly_mail_dead_letters"), 0,
                             "not marked dead while its dead letter cannot be published")
            self.assertGreaterEqual(metric(st.notif, "threadly_mail_queue_depth"), 1)
            r, j = wait_until(lambda: (lambda rj: rj[0].status == 503 and rj)(
                st.notif.json("GET", "/ready")), 30) or st.notif.json("GET", "/ready")
            self.assertEqual((r.status, j["checks"]["kafka_mail"]), (503, "down"), j)
            start = subprocess.run([kafka, "start", kdir, str(port), str(port + 1)],
                                   capture_output=True, text=True, timeout=180)
            self.assertEqual(start.returncode, 0, start.stderr)
            self.assertEqual(wait_until(lambda: metric(
                st.notif, "threadly_mail_dead_letters") == 1, 90), True,
                st.notif.log_text()[-3000:])
            msgs = st.until("mail-events.dlq", '"recipient_id":"%s"' % uid, 60)
            dead = [ev for _, ev in msgs if ev["data"].get("recipient_id") == uid]
            self.assertEqual(len(dead), 1, dead)
            self.assertRegex(dead[0]["data"]["reason"], r"^refused: .*550")
            self.assertNotIn("kept", dead[0]["data"]["reason"])
            self.assertEqual(metric(st.notif, "threadly_mail_queue_depth"), 0)
            self.assertEqual(len(st.mails_to("first@example.org")), 1)
        finally:
            rcs = st.stop() if st else [0, 0]
            subprocess.run([kafka, "stop", kdir], timeout=120, capture_output=True)
            shutil.rmtree(kdir, ignore_errors=True)
        self.assertEqual(rcs, [0, 0])

if __name__ == "__main__":
    unittest.main()
