"""test_kafka_transport.py - issue #4's Kafka profile end to end on a REAL Apache Kafka broker:
threadly-service (--events-transport kafka: the outbox relay) and notification-service (the
consumer group) started as real binaries; the public API's writes become notifications through
the broker (checked over REST), in outbox order per key; kill -9 of threadly-service before its
relay could publish, and of notification-service mid-stream, each end with exactly one
notification per event; garbage on a topic is dead-lettered and the consumer goes on; the broker
stopped and started again under both services (its own broker, started with scripts/kafka).

The broker is TEST_KAFKA_BOOTSTRAP (scripts/test, or tests/kafka/run.sh starts one); each test
uses its own topic prefix and consumer group on it. Without a real broker the test prints SKIP
and passes (it is about the real broker: librdkafka's mock cluster is not started for it),
unless TEST_REQUIRE names kafka."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))

from kafka_env import real_broker, wait_until  # noqa: E402
from harness import Service, free_port, metric  # noqa: E402
from test_events_feed import Client, feed  # noqa: E402

CORE = os.environ["THREADLY_CORE_BIN"]
NOTIF = os.environ["THREADLY_NOTIFICATION_BIN"]
TOOL = os.environ["THREADLY_KAFKA_TOOL"]
ROOT = os.environ.get("THREADLY_SOURCE_DIR", os.path.join(HERE, "..", ".."))
BOOTSTRAP = real_broker("kafka transport test", "the two-service Kafka transport test")
FAST = ("--argon2-ops", "1", "--argon2-mem-kib", "8", "--signup-limit", "1000",
        "--login-limit", "1000", "--public-url", "http://threadly.test")
# The broker for the outage test (its own: the shared one must stay up).
OUTAGE_PORT = int(os.environ.get("THREADLY_TEST_KAFKA_OUTAGE_PORT", "24096"))


def kafka_tool(*args, timeout=60):
    p = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout


class Pair:
    """threadly-service and notification-service on one data dir, both on Kafka."""

    def __init__(self, bootstrap, prefix=None, core_bootstrap=None):
        self.bootstrap = bootstrap
        self.prefix = prefix or "t%s." % uuid.uuid4().hex[:10]
        self.group = self.prefix + "notification-service"
        self.data = tempfile.mkdtemp(prefix="threadly-kafka-test-")
        self.core = self.start_core(core_bootstrap or bootstrap)
        self.notif = self.start_notif()
        self.client = Client(self.core)

    def start_core(self, bootstrap):
        return Service(CORE, *FAST, "--events-transport", "kafka", "--kafka-bootstrap",
                       bootstrap, "--kafka-topic-prefix", self.prefix, data_dir=self.data)

    def start_notif(self):
        return Service(NOTIF, "--events-transport", "kafka", "--kafka-bootstrap", self.bootstrap,
                       "--kafka-topic-prefix", self.prefix, "--kafka-group", self.group,
                       "--kafka-session-timeout-ms", "6000", "--events-backoff-max-ms", "500",
                       "--public-url", "http://threadly.test", data_dir=self.data)

    def notes(self, who, query=""):
        r, j = self.notif.json("GET", "/api/v1/notifications?limit=80" + query,
                               headers={"Authorization": "Bearer " + self.client.tokens[who]})
        assert r.status == 200, j
        return j

    def wait_notes(self, who, count, query="", timeout=30):
        """Waits until who has at least count notifications; returns them."""
        got = wait_until(lambda: len(self.notes(who, query)) >= count and self.notes(who, query),
                         timeout)
        return got or self.notes(who, query)

    def stop(self):
        rcs = []
        for svc in (self.notif, self.core):
            rcs.append(svc.terminate())
        return rcs


class KafkaTransportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = Pair(BOOTSTRAP)
        c = cls.p.client
        for name in ("alice", "bob", "carol"):
            c.sign_up(name)

    @classmethod
    def tearDownClass(cls):
        rcs = cls.p.stop()
        assert rcs == [0, 0], (rcs, cls.p.core.log_text()[-3000:], cls.p.notif.log_text()[-3000:])

    def test_1_ready_metrics_and_feed_still_served(self):
        p = self.p
        for svc in (p.core, p.notif):
            r, j = wait_until(lambda: (lambda rj: rj[0].status == 200 and rj)(
                svc.json("GET", "/ready")), 30) or svc.json("GET", "/ready")
            self.assertEqual(r.status, 200, j)
            self.assertEqual(j["checks"]["kafka"], "ok")
        self.assertEqual(metric(p.core, "threadly_outbox_relay_broker_up"), 1)
        self.assertIsNotNone(metric(p.notif, "notification_consumer_lag_events"))
        # The embedded feed keeps working in the Kafka profile.
        r, j = feed(p.core, after=0, limit=5)
        self.assertEqual(r.status, 200, j)
        self.assertTrue(j["events"], "account.created rows are in the outbox")

    def test_2_writes_become_notifications_in_order_per_key(self):
        p, c = self.p, self.p.client
        start = int(feed(p.core, after=0, limit=1)[1]["head_seq"])
        c.ok("bob", "POST", "/api/v1/accounts/%s/follow" % c.ids["alice"])
        post = c.ok("alice", "POST", "/api/v1/statuses", {"status": "hello kafka"})
        c.ok("bob", "POST", "/api/v1/statuses/%s/favourite" % post["id"])
        c.ok("carol", "POST", "/api/v1/statuses", {"status": "@alice hi",
                                                     "in_reply_to_id": post["id"]})
        # Undo and redo on one key, quickly: applied out of order this would leave two.
        for _ in range(3):
            c.ok("carol", "POST", "/api/v1/statuses/%s/favourite" % post["id"])
            c.ok("carol", "POST", "/api/v1/statuses/%s/unfavourite" % post["id"])
        c.ok("carol", "POST", "/api/v1/statuses/%s/favourite" % post["id"])
        notes = p.wait_notes("alice", 4)
        types = sorted(n["type"] for n in notes)
        self.assertEqual(types, ["favourite", "favourite", "follow", "mention"], notes)
        self.assertEqual(sorted(n["account"]["username"] for n in notes
                                if n["type"] == "favourite"), ["bob", "carol"])
        time.sleep(1)  # nothing more arrives
        self.assertEqual(len(p.notes("alice")), 4)
        # On the bus: every outbox row, once, on its type's topic, keyed by the envelope's key,
        # and per key in outbox order.
        self.assertEqual(wait_until(lambda: metric(p.core, "threadly_outbox_relay_lag_events")
                                    == 0, 10), True)
        r, j = feed(p.core, after=start, limit=1000)
        rows = [(int(e["seq"]), e["event"]) for e in j["events"]]
        total = int(j["head_seq"])  # every row of this fresh outbox, on fresh topics
        topics = {"follow": "interaction-events", "favourite": "interaction-events",
                  "status": "post-events", "account": "user-events", "token": "user-events"}
        out = kafka_tool("dump", BOOTSTRAP, p.prefix, p.prefix + "dump-" + uuid.uuid4().hex,
                         str(total), "30", "user-events", "post-events", "interaction-events")
        seen = {}
        for line in out.splitlines():
            topic, part, off, key, value = line.split("\t", 4)
            ev = json.loads(value)
            self.assertEqual(key, ev["key"])
            self.assertEqual(topic, topics[ev["type"].split(".")[0]])
            self.assertNotIn(ev["id"], seen, "published once")
            seen[ev["id"]] = (topic, int(part), int(off))
        by_key = {}
        for seq, ev in rows:
            self.assertIn(ev["id"], seen, "every outbox row is on the bus")
            by_key.setdefault((seen[ev["id"]][0], ev["key"]), []).append(seen[ev["id"]])
        for key, places in by_key.items():
            self.assertEqual(len({part for _, part, _ in places}), 1, key)
            offs = [o for _, _, o in places]
            self.assertEqual(offs, sorted(offs), "per key in outbox order: %s" % (key,))
        self.assertEqual(len(seen), total)
        self.assertGreaterEqual(len(by_key[("interaction-events", post["id"])]), 7)

    def test_3_garbage_is_dead_lettered_and_the_consumer_goes_on(self):
        p, c = self.p, self.p.client
        dead0 = metric(p.notif, "notification_events_dead_lettered_total")
        kafka_tool("send", BOOTSTRAP, p.prefix, "interaction-events", "1", "this is not json")
        kafka_tool("send", BOOTSTRAP, p.prefix, "post-events", "2", json.dumps({
            "id": "77", "type": "status.created", "version": 99,
            "occurred_at": "2026-11-24T01:02:03.000Z", "producer": "x", "key": "2",
            "data": {}}))
        self.assertTrue(wait_until(lambda: metric(
            p.notif, "notification_events_dead_lettered_total") >= dead0 + 2, 30),
            p.notif.log_text()[-2000:])
        before = len(p.notes("carol"))
        c.ok("alice", "POST", "/api/v1/accounts/%s/follow" % c.ids["carol"])
        notes = p.wait_notes("carol", before + 1)
        self.assertEqual(notes[0]["type"], "follow")
        self.assertEqual(notes[0]["account"]["username"], "alice")

    def test_4_kill_notification_service_mid_stream(self):
        p, c = self.p, self.p.client
        c.sign_up("dora")
        c.sign_up("fan")
        posts = [c.ok("dora", "POST", "/api/v1/statuses", {"status": "post %d" % i})["id"]
                 for i in range(30)]
        done = threading.Event()
        errors = []

        def favourite_all():
            try:
                for sid in posts:
                    c.ok("fan", "POST", "/api/v1/statuses/%s/favourite" % sid)
                    time.sleep(0.02)
            except Exception as e:  # reported below
                errors.append(e)
            done.set()

        t = threading.Thread(target=favourite_all)
        t.start()
        # Some are in before the kill, some arrive while it is down.
        wait_until(lambda: len(p.notes("dora")) >= 5, 20, 0.02)
        p.notif.kill()
        p.notif.terminate()  # reaps it and closes its pipes
        t.join(60)
        self.assertEqual(errors, [])
        p.notif = p.start_notif()
        notes = p.wait_notes("dora", 30, timeout=60)
        time.sleep(2)
        notes = p.notes("dora")
        self.assertEqual(sorted(n["status"]["id"] for n in notes), sorted(posts),
                         "every favourite exactly once")
        self.assertEqual({n["type"] for n in notes}, {"favourite"})


class KafkaFaultsTest(unittest.TestCase):
    def test_bad_transport_flags_are_refused(self):
        for binary, args in ((CORE, ("--events-transport", "bogus")),
                             (NOTIF, ("--events-transport", "Kafka")),
                             (CORE, ("--events-transport", "kafka", "--kafka-bootstrap", "")),
                             (NOTIF, ("--events-transport", "kafka", "--kafka-group", "")),
                             (NOTIF, ("--kafka-session-timeout-ms", "10"))):
            data = tempfile.mkdtemp(prefix="threadly-kafka-flags-")
            p = subprocess.run([binary, "--port", "0", "--data-dir", data, *args],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertRegex(p.stderr, "events-transport|kafka-bootstrap|kafka-group|"
                             "kafka-session-timeout-ms", args)

    def test_kill_threadly_service_before_its_relay_published(self):
        # The relay cannot reach any broker: the write returns, its row stays unsent.
        closed = "127.0.0.1:%d" % free_port()
        p = Pair(BOOTSTRAP, core_bootstrap=closed)
        try:
            c = p.client
            c.sign_up("erin")
            c.sign_up("finn")
            r, j = wait_until(lambda: (lambda rj: rj[0].status == 503 and rj)(
                p.core.json("GET", "/ready")), 15) or p.core.json("GET", "/ready")
            self.assertEqual(r.status, 503, j)
            self.assertEqual(j["checks"]["kafka"], "down")
            c.ok("finn", "POST", "/api/v1/accounts/%s/follow" % c.ids["erin"])
            self.assertGreater(metric(p.core, "threadly_outbox_relay_lag_events"), 0)
            p.core.kill()
            p.core.terminate()
            p.core = p.start_core(BOOTSTRAP)
            notes = p.wait_notes("erin", 1)
            time.sleep(2)
            notes = p.notes("erin")
            self.assertEqual([(n["type"], n["account"]["username"]) for n in notes],
                             [("follow", "finn")], "published after the restart, once")
            self.assertEqual(wait_until(lambda: metric(
                p.core, "threadly_outbox_relay_lag_events") == 0, 10), True)
            self.assertGreaterEqual(metric(p.core, "threadly_outbox_relay_published_total"), 3)
            # A clean restart finds every row sent: nothing is published again.
            self.assertEqual(p.core.terminate(), 0)
            p.core = p.start_core(BOOTSTRAP)
            self.assertEqual(wait_until(lambda: metric(
                p.core, "threadly_outbox_relay_lag_events") == 0, 10), True)
            time.sleep(1)
            self.assertEqual(metric(p.core, "threadly_outbox_relay_published_total"), 0)
            self.assertEqual(len(p.notes("erin")), 1)
            # Sent rows, then unsent ones: killed again while the broker is unreachable, the
            # restarted relay resumes exactly after the last sent row.
            self.assertEqual(p.core.terminate(), 0)
            p.core = c.svc = p.start_core(closed)
            c.ok("erin", "POST", "/api/v1/accounts/%s/follow" % c.ids["finn"])
            self.assertEqual(metric(p.core, "threadly_outbox_relay_lag_events"), 1)
            p.core.kill()
            p.core.terminate()
            p.core = p.start_core(BOOTSTRAP)
            notes = p.wait_notes("finn", 1)
            self.assertEqual(wait_until(lambda: metric(
                p.core, "threadly_outbox_relay_lag_events") == 0, 10), True)
            time.sleep(1)
            self.assertEqual(metric(p.core, "threadly_outbox_relay_published_total"), 1,
                             "only the unsent row")
            self.assertEqual([(n["type"], n["account"]["username"]) for n in p.notes("finn")],
                             [("follow", "erin")])
            self.assertEqual(len(p.notes("erin")), 1)
        finally:
            self.assertEqual(p.stop(), [0, 0], p.core.log_text()[-3000:])

    def test_broker_stopped_and_started_under_both_services(self):
        kafka = os.path.join(ROOT, "scripts", "kafka")
        kdir = tempfile.mkdtemp(prefix="threadly-kafka-outage-")
        start = subprocess.run([kafka, "start", kdir, str(OUTAGE_PORT), str(OUTAGE_PORT + 1)],
                               capture_output=True, text=True, timeout=180)
        if start.returncode != 0:
            self.skipTest("own broker for the outage did not start: " + start.stderr[-500:])
        bootstrap = start.stdout.strip()
        print("outage test: its own Apache Kafka broker at %s" % bootstrap, file=sys.stderr)
        p = None
        try:
            p = Pair(bootstrap)
            c = p.client
            c.sign_up("gus")
            c.sign_up("hana")
            c.ok("hana", "POST", "/api/v1/accounts/%s/follow" % c.ids["gus"])
            p.wait_notes("gus", 1)
            subprocess.run([kafka, "stop", kdir], check=True, timeout=120, capture_output=True)
            for svc in (p.core, p.notif):
                r, j = wait_until(lambda: (lambda rj: rj[0].status == 503 and rj)(
                    svc.json("GET", "/ready")), 30) or svc.json("GET", "/ready")
                self.assertEqual(r.status, 503, j)
                self.assertEqual(j["checks"]["kafka"], "down", j)
                self.assertEqual(j["checks"]["database"], "ok", j)
                self.assertEqual(svc.request("GET", "/health")[0].status, 200)
            # Reads and writes go on; the write waits in the outbox.
            post = c.ok("gus", "POST", "/api/v1/statuses", {"status": "while kafka sleeps"})
            c.ok("hana", "POST", "/api/v1/statuses/%s/favourite" % post["id"])
            self.assertEqual(c.ok("hana", "GET", "/api/v1/statuses/" + post["id"])["id"],
                             post["id"])
            self.assertEqual(len(p.notes("gus")), 1, "notifications are still served")
            time.sleep(1)
            self.assertEqual(len(p.notes("gus")), 1)
            start = subprocess.run([kafka, "start", kdir, str(OUTAGE_PORT),
                                    str(OUTAGE_PORT + 1)], capture_output=True, text=True,
                                   timeout=180)
            self.assertEqual(start.returncode, 0, start.stderr)
            notes = p.wait_notes("gus", 2, timeout=90)
            self.assertEqual(sorted(n["type"] for n in notes), ["favourite", "follow"])
            for svc in (p.core, p.notif):
                r, j = wait_until(lambda: (lambda rj: rj[0].status == 200 and rj)(
                    svc.json("GET", "/ready")), 30) or svc.json("GET", "/ready")
                self.assertEqual(r.status, 200, j)
            time.sleep(1)
            self.assertEqual(len(p.notes("gus")), 2)
        finally:
            if p:
                rcs = p.stop()
            subprocess.run([kafka, "stop", kdir], timeout=120, capture_output=True)
            subprocess.run(["rm", "-rf", kdir])
        self.assertEqual(rcs, [0, 0])


if __name__ == "__main__":
    unittest.main()
