"""test_gateway.py - the nginx gateway in front of both real services: routing by path
(checked in each service's own access log), streaming headers, and `make run`'s script end to
end (start, serve /api/v1/instance through the gateway, Ctrl-C stops everything)."""
import http.client
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from harness import Service, free_port

CORE = os.environ["THREADLY_CORE_BIN"]
NOTIF = os.environ["THREADLY_NOTIFICATION_BIN"]
SRC = os.environ["THREADLY_SOURCE_DIR"]


def get(url, headers=None, timeout=10):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class GatewayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.core = Service(CORE)
        cls.notif = Service(NOTIF, "--events-url",
                            "http://127.0.0.1:%d/internal/v1/events" % cls.core.port)
        cls.dir = tempfile.mkdtemp(prefix="threadly-gw-")
        cls.port = free_port()
        subprocess.run([os.path.join(SRC, "scripts/render-gateway"),
                        os.path.join(SRC, "deploy/nginx/gateway.conf.template"), cls.dir,
                        "127.0.0.1:%d" % cls.port, "127.0.0.1:%d" % cls.core.port,
                        "127.0.0.1:%d" % cls.notif.port], check=True, timeout=30)
        cls.nginx = subprocess.Popen(["nginx", "-p", cls.dir, "-c", cls.dir + "/nginx.conf",
                                      "-g", "daemon off;"])
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                get("http://127.0.0.1:%d/health" % cls.port, timeout=1)
                break
            except OSError:
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.nginx.terminate()
        cls.nginx.wait(10)
        assert cls.core.terminate() == 0
        assert cls.notif.terminate() == 0

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def served_by(self, path, rid):
        status, headers, _ = get(self.url(path), {"X-Request-Id": rid})
        self.assertEqual(headers.get("X-Request-Id"), rid)
        match = lambda r: r.get("req_id") == rid and r.get("msg") == "request"
        either = lambda: any(map(match, self.core.log_records())) or \
            any(map(match, self.notif.log_records()))
        deadline = time.time() + 3
        while time.time() < deadline and not either():
            time.sleep(0.02)
        time.sleep(0.1)  # time for a second (wrong) delivery to show up, if there were one
        in_core = any(map(match, self.core.log_records()))
        in_notif = any(map(match, self.notif.log_records()))
        self.assertNotEqual(in_core, in_notif, "%s reached both or neither service" % path)
        return "core" if in_core else "notification", status

    def test_rest_goes_to_threadly_service(self):
        status, _, body = get(self.url("/api/v1/instance"))
        self.assertEqual(status, 200)
        self.assertIn(b"4.2.0 (compatible; Threadly", body)
        self.assertEqual(self.served_by("/api/v1/instance", "gw-rest-1")[0], "core")
        self.assertEqual(self.served_by("/api/v1/accounts/1", "gw-rest-2")[0], "core")
        self.assertEqual(self.served_by("/oauth/token", "gw-rest-3")[0], "core")
        self.assertEqual(self.served_by("/api/v1/notificationsx", "gw-rest-4")[0], "core")

    def test_notifications_markers_and_streaming_go_to_notification_service(self):
        self.assertEqual(self.served_by("/api/v1/markersx", "gw-rest-5")[0], "core")
        # 401: no token; 405: dismiss is a POST; 400: no stream named. The point is where each
        # request went.
        for i, (path, want) in enumerate((("/api/v1/notifications", 401),
                                          ("/api/v1/notifications/5/dismiss", 405),
                                          ("/api/v1/notifications?types[]=mention", 401),
                                          ("/api/v1/markers?timeline[]=home", 401),
                                          ("/api/v1/streaming", 400),
                                          ("/api/v1/streaming/user", 401),
                                          ("/api/v1/streaming/health", 200))):
            who, status = self.served_by(path, "gw-notif-%d" % i)
            self.assertEqual(who, "notification", path)
            self.assertEqual(status, want, path)

    def test_internal_paths_are_never_routed(self):
        for path in ("/internal/v1/events", "/internal/v1/events?after=0&wait=0", "/internal/"):
            status, headers, body = get(self.url(path))
            self.assertEqual(status, 404, path)
            self.assertTrue(headers["Content-Type"].startswith("application/json"))
            self.assertEqual(json.loads(body), {"error": "Record not found"})
        time.sleep(0.1)
        self.assertFalse(any(r.get("path", "").startswith("/internal/")
                             for r in self.core.log_records()), "reached threadly-service")

    def test_gateway_gives_requests_an_id(self):
        status, headers, _ = get(self.url("/api/v1/instance"))
        rid = headers.get("X-Request-Id")
        self.assertRegex(rid, r"^[0-9a-f]{32}$")
        self.assertTrue(self.core.wait_for_log(lambda r: r.get("req_id") == rid))
        deadline = time.time() + 5
        while time.time() < deadline:  # nginx writes its log line after the response
            with open(os.path.join(self.dir, "access.log")) as f:
                if rid in f.read():
                    break
            time.sleep(0.05)
        else:
            self.fail("request id %s not in the gateway's access log" % rid)

    def test_errors_keep_mastodon_json_shape_through_the_gateway(self):
        status, headers, body = get(self.url("/api/v1/nothing"))
        self.assertEqual(status, 404)
        self.assertTrue(headers["Content-Type"].startswith("application/json"))
        self.assertIn(b'"error"', body)


class MakeRunTest(unittest.TestCase):
    """scripts/run is what `make run` calls after building: it must start all three
    processes, print the URL, serve through the gateway and stop everything on Ctrl-C."""

    def live_notification_through(self, port):
        """Two accounts signed up through the gateway; one follows the other, who hears it on
        the SSE user stream (notification-service, behind the same gateway)."""
        base = "http://127.0.0.1:%d" % port

        def call(method, path, token=None, form=None):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            h = {"Content-Type": "application/x-www-form-urlencoded"}
            if token:
                h["Authorization"] = "Bearer " + token
            c.request(method, path, urllib.parse.urlencode(form or {}), h)
            r = c.getresponse()
            body = json.loads(r.read())
            c.close()
            self.assertEqual(r.status, 200, body)
            return body
        app = call("POST", "/api/v1/apps", form={"client_name": "run", "scopes": "read write follow",
                                                 "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})
        app_tok = call("POST", "/oauth/token", form={
            "grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "scope": "write"})["access_token"]
        tok = {n: call("POST", "/api/v1/accounts", app_tok, {
            "username": n, "email": n + "@example.org", "password": "correct horse battery",
            "agreement": "true", "locale": "en"})["access_token"] for n in ("ann", "ben")}
        ann = call("GET", "/api/v1/accounts/verify_credentials", tok["ann"])["id"]
        sse = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        sse.request("GET", "/api/v1/streaming/user", headers={"Authorization": "Bearer " + tok["ann"]})
        r = sse.getresponse()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/event-stream"))
        time.sleep(0.3)
        call("POST", "/api/v1/accounts/%s/follow" % ann, tok["ben"])
        event = None
        for _ in range(20):
            line = r.fp.readline().decode().strip()
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "notification":
                note = json.loads(line[6:])
                self.assertEqual((note["type"], note["account"]["username"]), ("follow", "ben"))
                break
        else:
            self.fail("no notification on the SSE stream through " + base)
        sse.close()

    def test_run_script(self):
        build = os.path.dirname(os.path.dirname(os.path.dirname(CORE)))
        data = tempfile.mkdtemp(prefix="threadly-run-")
        http_port, core_port, notif_port = free_port(), free_port(), free_port()
        env = dict(os.environ, THREADLY_HTTP_PORT=str(http_port), THREADLY_DATA_DIR=data,
                   THREADLY_CORE_PORT=str(core_port), THREADLY_NOTIFICATION_PORT=str(notif_port),
                   THREADLY_BUILD_DIR=build)
        p = subprocess.Popen([os.path.join(SRC, "scripts/run")], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        lines = []
        try:
            deadline = time.time() + 30
            url_line = None
            while time.time() < deadline and url_line is None:
                line = p.stdout.readline()
                if not line:
                    break
                lines.append(line)
                if "Threadly is running at" in line:
                    url_line = line
            self.assertIsNotNone(url_line, "".join(lines))
            self.assertIn("http://127.0.0.1:%d" % http_port, url_line)
            status, _, body = get("http://127.0.0.1:%d/api/v1/instance" % http_port)
            self.assertEqual(status, 200)
            self.assertIn(b'"uri":"127.0.0.1:%d"' % http_port, body)
            self.assertTrue(os.path.isdir(os.path.join(data, "threadly")))
            self.assertTrue(os.path.isdir(os.path.join(data, "notification")))
            self.live_notification_through(http_port)
            os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
            rest, _ = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, "".join(lines) + rest)
            for port in (http_port, core_port, notif_port):
                with self.assertRaises(OSError, msg="port %d still open" % port):
                    get("http://127.0.0.1:%d/health" % port, timeout=1)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


if __name__ == "__main__":
    unittest.main()
