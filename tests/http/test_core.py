"""test_core.py - lib/http over real sockets, through the http_testd test server: parameter
parsing (JSON, form, query, arrays, booleans), routing, CORS, request ids, limits and bad
input, keep-alive and graceful shutdown."""
import json
import os
import threading
import time
import unittest
import urllib.parse

from harness import Service, raw, status_of

TESTD = os.environ["THREADLY_HTTP_TESTD"]


class CoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(TESTD, "--max-body", "4096")

    @classmethod
    def tearDownClass(cls):
        cls.svc.terminate()

    def test_json_body(self):
        body = json.dumps({"status": "héllo <b>", "sensitive": True, "media_ids": ["1", 2],
                           "visibility": None})
        r, j = self.svc.json("POST", "/echo", body, {"Content-Type": "application/json"})
        self.assertEqual(r.status, 200)
        self.assertEqual(j["status"], "héllo <b>")
        self.assertIs(j["sensitive"], True)
        self.assertEqual(j["media_ids"], ["1", "2"])

    def test_form_body_with_arrays(self):
        body = urllib.parse.urlencode([("status", "a+b & c"), ("media_ids[]", "7"),
                                       ("media_ids[]", "8"), ("sensitive", "1")])
        r, j = self.svc.json("POST", "/echo", body,
                             {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 200)
        self.assertEqual(j["status"], "a+b & c")
        self.assertEqual(j["media_ids"], ["7", "8"])
        self.assertIs(j["sensitive"], True)

    def test_query_arrays_and_booleans(self):
        for spelling, want in (("true", True), ("True", True), ("1", True), ("false", False),
                               ("0", False)):
            r, j = self.svc.json("GET", "/echo?types[]=mention&types[]=follow&sensitive=" +
                                 spelling)
            self.assertEqual(r.status, 200)
            self.assertEqual(j["types"], ["mention", "follow"])
            self.assertIs(j["sensitive"], want, spelling)

    def test_bad_boolean_is_422(self):
        r, j = self.svc.json("GET", "/echo?sensitive=maybe")
        self.assertEqual(r.status, 422)
        self.assertIn("error", j)

    def test_body_wins_over_query(self):
        r, j = self.svc.json("POST", "/echo?status=query", '{"status":"body"}',
                             {"Content-Type": "application/json"})
        self.assertEqual(j["status"], "body")

    def test_path_params_and_literal_precedence(self):
        r, j = self.svc.json("GET", "/items/123")
        self.assertEqual(j["id"], "123")
        r, j = self.svc.json("GET", "/items/special")
        self.assertEqual(j, {"route": "special"})
        r, j = self.svc.json("PUT", "/items/special")  # only the parameter route takes PUT
        self.assertEqual(r.status, 200)
        self.assertEqual(j["id"], "special")

    def test_trailing_slash(self):
        r, j = self.svc.json("GET", "/items/5/")
        self.assertEqual(r.status, 200)
        self.assertEqual(j["id"], "5")

    def test_unknown_route_is_json_404(self):
        r, j = self.svc.json("GET", "/no/such/thing")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.getheader("Content-Type"), "application/json; charset=utf-8")
        self.assertIsInstance(j["error"], str)

    def test_wrong_method_is_json_405_with_allow(self):
        r, j = self.svc.json("DELETE", "/echo")
        self.assertEqual(r.status, 405)
        self.assertIn("error", j)
        self.assertEqual(r.getheader("Allow"), "GET, HEAD, POST")

    def test_malformed_json_is_400(self):
        for bad in ('{"status": ', "[1,2]", '"text"', "{\"a\":\"\\u0000\"}"):
            r, j = self.svc.json("POST", "/echo", bad, {"Content-Type": "application/json"})
            self.assertEqual(r.status, 400, bad)
            self.assertIn("error", j)

    def test_malformed_form_is_400(self):
        for bad in ("status=%zz", "status=%ff%fe", "a=%"):
            r, j = self.svc.json("POST", "/echo", bad,
                                 {"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(r.status, 400, bad)
            self.assertIn("error", j)

    def test_multipart_body(self):
        boundary = "----threadly"
        parts = [("status", "multi part ünïcode"), ("media_ids[]", "5"), ("media_ids[]", "6")]
        body = "".join('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                       % (boundary, k, v) for k, v in parts)
        body += ('--%s\r\nContent-Disposition: form-data; name="avatar"; filename="a.png"\r\n'
                 "Content-Type: image/png\r\n\r\n\x89PNG\x00\x01\r\n" % boundary)
        body += "--%s--\r\n" % boundary
        r, j = self.svc.json("POST", "/echo", body.encode("latin-1").replace(
            "ünïcode".encode("latin-1"), "ünïcode".encode()),
            {"Content-Type": "multipart/form-data; boundary=" + boundary})
        self.assertEqual(r.status, 200, j)
        self.assertEqual(j["status"], "multi part ünïcode")
        self.assertEqual(j["media_ids"], ["5", "6"])
        bad = ('--%s\r\nContent-Disposition: form-data; name="status"\r\n\r\n\xff\xfe\r\n'
               "--%s--\r\n" % (boundary, boundary)).encode("latin-1")
        r, j = self.svc.json("POST", "/echo", bad,
                             {"Content-Type": "multipart/form-data; boundary=" + boundary})
        self.assertEqual(r.status, 400)
        r, j = self.svc.json("POST", "/echo", b"garbage without boundary",
                             {"Content-Type": "multipart/form-data"})
        self.assertEqual(r.status, 400)

    def test_query_must_be_utf8(self):
        r, j = self.svc.json("GET", "/echo?status=%ff%fe")
        self.assertEqual(r.status, 400)
        self.assertIn("error", j)
        r, j = self.svc.json("GET", "/echo?status=%C3%A9")
        self.assertEqual((r.status, j["status"]), (200, "é"))

    def test_unsupported_content_type_is_415(self):
        r, j = self.svc.json("POST", "/echo", "<xml/>", {"Content-Type": "application/xml"})
        self.assertEqual(r.status, 415)
        self.assertIn("error", j)

    def test_body_over_limit_is_413(self):
        r, j = self.svc.json("POST", "/echo", "status=" + "x" * 5000,
                             {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 413)
        self.assertIn("error", j)

    def test_chunked_body_over_limit_is_413(self):
        chunk = b"x" * 3000
        payload = (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                   b"Connection: close\r\n"
                   b"Content-Type: application/x-www-form-urlencoded\r\n\r\n" +
                   (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 3 + b"0\r\n\r\n")
        out = raw(self.svc.port, payload)
        self.assertEqual(status_of(out), 413, out[:200])

    def test_oversized_headers_and_url_rejected_without_crash(self):
        out = raw(self.svc.port, b"GET /echo HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 100000 +
                  b"\r\n\r\n")
        self.assertIn(status_of(out), (400, 413, 414, 431), out[:200])
        out = raw(self.svc.port, b"GET /echo?" + b"a=b&" * 30000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertIn(status_of(out), (400, 413, 414, 431), out[:200])
        r, _ = self.svc.request("GET", "/health")  # still serving
        self.assertEqual(r.status, 200)

    def test_garbage_request_line(self):
        # libmicrohttpd may wait for the rest of such a request: a short read timeout is enough
        out = raw(self.svc.port, b"\x00\x01\x02 garbage\r\n\r\n", timeout=1)
        self.assertIn(status_of(out), (None, 400, 505))
        r, _ = self.svc.request("GET", "/health")
        self.assertEqual(r.status, 200)

    def test_cors(self):
        r, _ = self.svc.request("OPTIONS", "/echo", headers={
            "Origin": "http://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        self.assertEqual(r.status, 204)
        self.assertEqual(r.getheader("Access-Control-Allow-Origin"), "*")
        self.assertIn("POST", r.getheader("Access-Control-Allow-Methods"))
        self.assertEqual(r.getheader("Access-Control-Allow-Headers"), "authorization,content-type")
        r, _ = self.svc.request("GET", "/echo", headers={"Origin": "http://app.example"})
        self.assertEqual(r.getheader("Access-Control-Allow-Origin"), "*")
        self.assertIn("Link", r.getheader("Access-Control-Expose-Headers"))

    def test_request_id_and_access_log(self):
        r, j = self.svc.json("GET", "/echo", headers={"X-Request-Id": "test-req-42"})
        self.assertEqual(r.getheader("X-Request-Id"), "test-req-42")
        self.assertEqual(j["request_id"], "test-req-42")
        self.assertTrue(self.svc.wait_for_log(
            lambda rec: rec.get("req_id") == "test-req-42" and rec.get("msg") == "request"
            and rec.get("status") == 200 and rec.get("path") == "/echo"))
        # an unsafe id from the client is replaced by a generated one
        r, j = self.svc.json("GET", "/echo", headers={"X-Request-Id": "bad id\"<>"})
        self.assertRegex(r.getheader("X-Request-Id"), r"^[0-9a-f]{32}$")

    def test_keep_alive(self):
        c = self.svc.conn()
        c.request("GET", "/echo")
        r = c.getresponse()
        r.read()
        sock = c.sock
        self.assertIsNotNone(sock)
        self.assertNotEqual((r.getheader("Connection") or "").lower(), "close")
        for body in ('{"status":"a"}', '{"status":"b"}'):
            c.request("POST", "/echo", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            self.assertEqual(json.loads(r.read())["status"], json.loads(body)["status"])
            self.assertIs(c.sock, sock, "connection was not kept alive")
        c.close()

    def test_head(self):
        r, data = self.svc.request("HEAD", "/echo")
        self.assertEqual(r.status, 200)
        self.assertEqual(data, b"")


class ShutdownTest(unittest.TestCase):
    def test_sigterm_finishes_in_flight_requests_and_exits_0(self):
        svc = Service(TESTD)
        result = {}

        def slow():
            r, j = svc.json("POST", "/slow?ms=800")
            result["status"], result["body"] = r.status, j

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)  # the request is now in its handler
        code = svc.terminate()
        t.join(5)
        self.assertEqual(code, 0, svc.log_text())
        self.assertEqual(result.get("status"), 200)
        self.assertEqual(result.get("body"), {"done": True})
        self.assertIn("stopped", svc.log_text())

    def test_bad_config_exits_2_with_message(self):
        import subprocess
        p = subprocess.run([TESTD, "--port", "nope"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--port", p.stderr)
        p = subprocess.run([TESTD, "--bogus"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown option", p.stderr)
        p = subprocess.run([TESTD, "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertIn("THREADLY_DATA_DIR", p.stdout)


if __name__ == "__main__":
    unittest.main()
