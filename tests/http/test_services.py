"""test_services.py - the two real binaries: ops endpoints (/health, /ready, /metrics checked
with promtool), the Mastodon Instance entity on threadly-service, bad input, a dependency going
away (/ready turns 503), configuration errors and graceful shutdown."""
import base64
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import Service, free_port, raw, status_of

CORE = os.environ["THREADLY_CORE_BIN"]
NOTIF = os.environ["THREADLY_NOTIFICATION_BIN"]


def notif_args():
    """notification-service's event feed on a closed port (no threadly-service here)."""
    return ("--events-url", "http://127.0.0.1:%d/internal/v1/events" % free_port())

V1_KEYS = {"uri", "title", "short_description", "description", "email", "version", "urls",
           "stats", "thumbnail", "languages", "registrations", "approval_required",
           "invites_enabled", "configuration", "contact_account", "rules"}
V2_KEYS = {"domain", "title", "version", "source_url", "description", "usage", "thumbnail",
           "languages", "configuration", "registrations", "contact", "rules"}


def promtool_check(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


class ThreadlyServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(CORE, "--public-url", "https://threadly.example/",
                          "--title", "Test <Instance>", "--max-body", "2048")

    @classmethod
    def tearDownClass(cls):
        cls.svc.terminate()

    def test_instance_v1_entity(self):
        for path in ("/api/v1/instance", "/api/v1/instance/"):  # Mastodon.py adds the slash
            r, j = self.svc.json("GET", path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(set(j) - V1_KEYS, set())
            self.assertEqual(V1_KEYS - set(j), set())
            self.assertEqual(j["uri"], "threadly.example")
            self.assertEqual(j["title"], "Test <Instance>")
            self.assertRegex(j["version"], r"^4\.2\.0 \(compatible; Threadly \d+\.\d+\.\d+\)$")
            self.assertEqual(j["urls"]["streaming_api"], "wss://threadly.example")
            self.assertEqual(set(j["stats"]), {"user_count", "status_count", "domain_count"})
            self.assertEqual(j["configuration"]["statuses"]["max_characters"], 500)
            self.assertIsNone(j["contact_account"])
            self.assertEqual(j["rules"], [])
            self.assertTrue(j["thumbnail"].startswith("https://threadly.example/"))

    def test_instance_v2_entity(self):
        r, j = self.svc.json("GET", "/api/v2/instance")
        self.assertEqual(r.status, 200)
        self.assertEqual(V2_KEYS - set(j), set())
        self.assertEqual(j["domain"], "threadly.example")
        self.assertEqual(j["configuration"]["urls"]["streaming"], "wss://threadly.example")
        self.assertIs(j["registrations"]["enabled"], True)

    def test_default_image_is_a_png(self):
        r, data = self.svc.request("GET", "/images/default.png")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "image/png")
        self.assertTrue(data.startswith(b"\x89PNG\r\n\x1a\n"))

    def test_health_and_ready(self):
        r, data = self.svc.request("GET", "/health")
        self.assertEqual((r.status, data), (200, b"OK"))
        r, j = self.svc.json("GET", "/ready")
        self.assertEqual(r.status, 200)
        self.assertEqual(j["checks"], {"data_dir": "ok", "database": "ok"})

    def test_metrics_pass_promtool(self):
        self.svc.request("GET", "/api/v1/instance")
        self.svc.request("GET", "/nope")
        r, data = self.svc.request("GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/plain; version=0.0.4"))
        text = data.decode()
        code, out = promtool_check(text)
        self.assertEqual(code, 0, out)
        self.assertRegex(text, r'http_requests_total\{route="/api/v1/instance",method="GET",'
                               r'code="200"\} [1-9]')
        self.assertRegex(text, r'http_requests_total\{route="unmatched",method="GET",code="404"\}')
        self.assertRegex(text, r'http_request_duration_seconds_count\{route="/api/v1/instance"\}'
                               r' [1-9]')
        self.assertRegex(text, r"\nprocess_resident_memory_bytes [1-9]")

    def test_bad_requests(self):
        r, j = self.svc.json("GET", "/api/v1/nothing-here")
        self.assertEqual((r.status, set(j)), (404, {"error"}))
        r, j = self.svc.json("DELETE", "/api/v1/instance")
        self.assertEqual((r.status, set(j)), (405, {"error"}))
        r, j = self.svc.json("POST", "/api/v1/instance", "x=" + "y" * 3000,
                             {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((r.status, set(j)), (413, {"error"}))
        out = raw(self.svc.port, b"GET /api/v1/instance HTTP/1.1\r\nHost: x\r\nCookie: " +
                  b"c" * 70000 + b"\r\n\r\n")
        self.assertIn(status_of(out), (400, 413, 414, 431))
        out = raw(self.svc.port, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(status_of(out), (400, 413, 414, 431))
        r, _ = self.svc.request("GET", "/health")
        self.assertEqual(r.status, 200)

    def test_streaming_path_is_not_served_here(self):
        r, j = self.svc.json("GET", "/api/v1/streaming")
        self.assertEqual(r.status, 404)
        self.assertIn("error", j)


class FaultAndLifecycleTest(unittest.TestCase):
    def test_ready_reports_a_lost_data_dir_and_recovers(self):
        for binary, sub in ((CORE, "threadly"), (NOTIF, "notification")):
            if binary == NOTIF:
                # Ready needs the token key and the event feed: a key file, no feed.
                key = os.path.join(tempfile.mkdtemp(prefix="threadly-key-"), "k.pub")
                self.addCleanup(shutil.rmtree, os.path.dirname(key), True)
                with open(key, "w") as f:
                    f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
                svc = Service(binary, "--events-url", "off", "--jwt-public-key", key)
            else:
                svc = Service(binary)
            try:
                path = os.path.join(svc.data_dir, sub)
                shutil.rmtree(path)
                r, j = svc.json("GET", "/ready")
                self.assertEqual(r.status, 503, binary)
                self.assertEqual(j["checks"]["data_dir"], "down")
                self.assertIn("error", j)
                r, _ = svc.request("GET", "/health")  # alive, just not ready
                self.assertEqual(r.status, 200)
                os.makedirs(path)
                r, j = svc.json("GET", "/ready")
                self.assertEqual(r.status, 200)
            finally:
                self.assertEqual(svc.terminate(), 0)

    def test_both_services_stop_cleanly_on_sigterm(self):
        for binary in (CORE, NOTIF):
            svc = Service(binary, *(notif_args() if binary == NOTIF else ()))
            r, _ = svc.request("GET", "/health")
            self.assertEqual(r.status, 200)
            self.assertEqual(svc.terminate(), 0, svc.log_text())
            self.assertIn('"msg":"stopped"', svc.log_text())

    def test_every_thread_but_main_blocks_the_stop_signals(self):
        # A thread that does not block SIGTERM may be the one the kernel hands it to, and its
        # default action then kills the process instead of the graceful stop (it happened to
        # the log writer thread, started before the signals were blocked). The main thread is
        # in sigwait, which unblocks them while it waits.
        stop_bits = (1 << (15 - 1)) | (1 << (2 - 1))  # SIGTERM, SIGINT
        for binary in (CORE, NOTIF):
            svc = Service(binary, *(notif_args() if binary == NOTIF else ()))
            try:
                pid = svc.proc.pid
                tasks = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
                self.assertGreater(len(tasks), 2, "expected worker threads")
                for tid in tasks:
                    if tid == pid:
                        continue
                    with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
                        blk = [l for l in f if l.startswith("SigBlk:")][0].split()[1]
                    self.assertEqual(int(blk, 16) & stop_bits, stop_bits,
                                     "%s thread %d does not block SIGTERM/SIGINT (SigBlk %s)"
                                     % (os.path.basename(binary), tid, blk))
            finally:
                self.assertEqual(svc.terminate(), 0, svc.log_text())

    def test_notification_service_ops(self):
        svc = Service(NOTIF, *notif_args())
        try:
            r, data = svc.request("GET", "/health")
            self.assertEqual((r.status, data), (200, b"OK"))
            r, data = svc.request("GET", "/metrics")
            code, out = promtool_check(data.decode())
            self.assertEqual(code, 0, out)
            r, j = svc.json("GET", "/api/v1/instance")  # not this service's job
            self.assertEqual(r.status, 404)
        finally:
            svc.terminate()

    def test_bad_configuration_is_refused(self):
        cases = [
            ([CORE, "--public-url", "ftp://x"], "--public-url"),
            ([CORE, "--port", "70000"], "--port"),
            ([CORE, "--max-characters", "0"], "--max-characters"),
            ([CORE, "--entity-cache-mb", "-1"], "--entity-cache-mb"),
            ([CORE, "--entity-cache-mb", "lots"], "--entity-cache-mb"),
            ([NOTIF, "--log-level", "loud"], "--log-level"),
            ([CORE, "--bind", "not-an-ip", "--port", "0"], "not-an-ip"),
        ]
        for argv, needle in cases:
            p = subprocess.run(argv + ["--data-dir", "/tmp/threadly-badconf"],
                               capture_output=True, text=True, timeout=10)
            self.assertNotEqual(p.returncode, 0, argv)
            self.assertIn(needle, p.stderr, argv)
        env = dict(os.environ, THREADLY_CORE_PORT="eighty")
        p = subprocess.run([CORE], capture_output=True, text=True, timeout=10, env=env)
        self.assertEqual(p.returncode, 2)
        self.assertIn("THREADLY_CORE_PORT", p.stderr)

    def test_port_in_use_is_a_clear_error(self):
        svc = Service(CORE)
        try:
            p = subprocess.run([CORE, "--port", str(svc.port), "--data-dir", svc.data_dir],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 1)
            self.assertRegex(p.stderr, r"cannot listen on 127\.0\.0\.1:%d" % svc.port)
        finally:
            svc.terminate()

    def test_help_lists_options_and_env(self):
        for binary in (CORE, NOTIF):
            p = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 0)
            self.assertIn("THREADLY_DATA_DIR", p.stdout)
            self.assertIn("--port", p.stdout)


if __name__ == "__main__":
    unittest.main()
