"""test_pgsql_faults.py - threadly-service on PostgreSQL when the database goes away and comes
back: /ready says 503 "database":"down", writes answer 503 with Mastodon's error JSON, the
process stays up, and once PostgreSQL is back /ready is 200 and writes work again, without a
restart of the service. Runs its own cluster (scripts/pg, port THREADLY_TEST_PG_FAULT_PORT,
default 15433) so the shared one of scripts/test is not disturbed."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import Service, metric

CORE = os.environ["THREADLY_CORE_BIN"]
SRC = os.environ.get("THREADLY_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PG = os.path.join(SRC, "scripts", "pg")
PORT = os.environ.get("THREADLY_TEST_PG_FAULT_PORT", "15433")
INITDB = "/usr/lib/postgresql/15/bin/initdb"
FAST = ("--argon2-ops", "1", "--argon2-mem-kib", "8", "--threads", "4")
JSON = {"Content-Type": "application/json"}
APP = json.dumps({"client_name": "fault", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})


def required():
    return "pgsql" in [p.strip() for p in os.environ.get("TEST_REQUIRE", "").split(",")]


def pg(*args):
    p = subprocess.run([PG, *args], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("scripts/pg %s: %s" % (" ".join(args), p.stderr))
    return p.stdout.strip()


class PgsqlFaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="threadly-pgfault-")
        cls.url = pg("start", cls.dir, PORT)
        # The outbox pruner every second, so that it meets the database down too.
        cls.svc = Service(CORE, *FAST, "--db", cls.url, "--outbox-prune-interval-s", "1")

    @classmethod
    def tearDownClass(cls):
        cls.svc.terminate()
        try:
            pg("stop", cls.dir)
        finally:
            shutil.rmtree(cls.dir, ignore_errors=True)

    def ready(self):
        return self.svc.json("GET", "/ready")

    def wait_ready(self, want, timeout=20):
        deadline = time.time() + timeout
        while True:
            r, j = self.ready()
            if r.status == want or time.time() > deadline:
                return r, j
            time.sleep(0.1)

    def create_app(self):
        return self.svc.json("POST", "/api/v1/apps", APP, JSON)

    def test_database_down_then_back(self):
        pid = self.svc.proc.pid
        r, j = self.ready()
        self.assertEqual(r.status, 200, j)
        self.assertEqual(j["checks"]["database"], "ok")
        # Touch every worker thread's connection, so that stale ones exist after the restart.
        for _ in range(16):
            r, j = self.create_app()
            self.assertEqual(r.status, 200, j)

        pg("stop", self.dir)
        r, j = self.ready()
        self.assertEqual(r.status, 503, j)
        self.assertEqual(j["checks"]["database"], "down")
        for _ in range(8):
            r, j = self.create_app()
            self.assertEqual(r.status, 503, j)
            self.assertIsInstance(j.get("error"), str)  # Mastodon's error entity
        r, _ = self.svc.request("GET", "/health")
        self.assertEqual(r.status, 200)
        self.assertIsNone(self.svc.proc.poll(), "the service exited")
        # The outbox pruner's passes fail, are counted, and the service goes on.
        deadline = time.time() + 10
        while (time.time() < deadline
               and not metric(self.svc, "threadly_outbox_prune_errors_total")):
            time.sleep(0.2)
        self.assertGreaterEqual(metric(self.svc, "threadly_outbox_prune_errors_total"), 1)
        self.assertIsNone(self.svc.proc.poll(), "the service exited")

        self.assertEqual(pg("start", self.dir, PORT), self.url)
        r, j = self.wait_ready(200)
        self.assertEqual(r.status, 200, j)
        self.assertEqual(j["checks"]["database"], "ok")
        # Every write works at once, whichever thread (stale connection or none) serves it.
        for _ in range(16):
            r, j = self.create_app()
            self.assertEqual(r.status, 200, j)
            r, j = self.svc.json("GET", "/api/v1/instance")
            self.assertEqual(r.status, 200, j)
        self.assertIsNone(self.svc.proc.poll())
        self.assertEqual(self.svc.proc.pid, pid)
        # ...and its passes succeed again (one a second: no new failure in 2.5 s).
        failed = metric(self.svc, "threadly_outbox_prune_errors_total")
        time.sleep(2.5)
        self.assertEqual(metric(self.svc, "threadly_outbox_prune_errors_total"), failed)


if __name__ == "__main__":
    if not os.access(INITDB, os.X_OK):
        if required():
            print("FAIL: TEST_REQUIRE names pgsql but %s is missing" % INITDB, file=sys.stderr)
            sys.exit(1)
        print("SKIP: PostgreSQL 15 is not installed (scripts/setup --test installs it)",
              file=sys.stderr)
        sys.exit(0)
    unittest.main()
