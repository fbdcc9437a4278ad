"""test_live_faults.py - issue #4's faults on the real services (no gateway): notification-service
killed with SIGKILL while events flow and started again (every event ends up as exactly one
notification); threadly-service killed with SIGKILL right after a write returned, while the
consumer was frozen, and started again (the event is still delivered); threadly-service
stopped (notification-service stays up, /ready says event_feed is down, delivery resumes).
Fixed ports THREADLY_TEST_FAULT_PORT (default 26001) and the next two, so the restarted
services are found where they were. Run with Debian's /usr/bin/python3."""
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from livestack import Stack, call, wait_until  # noqa: E402

PORT = int(os.environ.get("THREADLY_TEST_FAULT_PORT", "26001"))


def all_notifications(stack, token):
    """Every notification of token's account, paging with max_id."""
    out, max_id = [], None
    while True:
        params = {"limit": 80}
        if max_id:
            params["max_id"] = max_id
        page = stack.notifications(token, **params)
        if not page:
            return out
        out += page
        max_id = page[-1]["id"]


class LiveFaultsTest(unittest.TestCase):
    def setUp(self):
        self.stack = Stack(gateway=False, core_port=PORT, notif_port=PORT + 1)
        self.tok, self.ids = {}, {}

    def tearDown(self):
        for svc in (self.stack.core, self.stack.notif):
            if svc.proc.poll() is None:
                svc.proc.send_signal(signal.SIGCONT)
        self.stack.stop()

    def api(self, name, method, path, **form):
        st, body = call(self.stack.base, method, path, token=self.tok[name],
                        form=form if method != "GET" else None)
        self.assertEqual(st, 200, "%s %s: %s" % (method, path, body))
        return body

    def users(self, *names):
        for n in names:
            self.tok[n], self.ids[n] = self.stack.account(n)

    def kill(self, which):
        svc = getattr(self.stack, which)
        svc.proc.send_signal(signal.SIGKILL)
        svc.proc.wait(10)
        svc.terminate()  # closes the pipes

    def kill_and_restart(self, which):
        self.kill(which)
        return getattr(self.stack, "start_" + which)()

    def test_notification_service_killed_while_events_flow(self):
        actors = ["a%d" % i for i in range(5)]
        self.users("target", *actors)
        statuses = [self.api("target", "POST", "/api/v1/statuses", status="post %d" % i)["id"]
                    for i in range(30)]
        expected = set()
        progress = [0]

        def flow():
            for a in actors:
                self.api(a, "POST", "/api/v1/accounts/%s/follow" % self.ids["target"])
                expected.add(("follow", self.ids[a], None))
                progress[0] += 1
                for s in statuses:
                    self.api(a, "POST", "/api/v1/statuses/%s/favourite" % s)
                    expected.add(("favourite", self.ids[a], s))
                    progress[0] += 1

        t = threading.Thread(target=flow)
        t.start()
        total = len(actors) * (1 + len(statuses))
        self.assertTrue(wait_until(lambda: progress[0] >= total // 3, 30))
        self.kill("notif")
        at_kill = progress[0]
        self.stack.start_notif()
        t.join(120)
        self.assertLess(at_kill, total, "the kill came while events were still flowing")
        self.assertEqual(len(expected), total)

        def complete():
            got = all_notifications(self.stack, self.tok["target"])
            return got if len(got) >= total else None
        got = wait_until(complete, 30) or all_notifications(self.stack, self.tok["target"])
        keys = [(n["type"], n["account"]["id"], (n.get("status") or {}).get("id")) for n in got]
        self.assertEqual(len(keys), len(set(keys)), "no duplicates")
        self.assertEqual(set(keys), expected, "every event made its notification")
        time.sleep(0.5)  # nothing more trickles in
        self.assertEqual(len(all_notifications(self.stack, self.tok["target"])), total)

    def test_threadly_killed_right_after_a_write(self):
        self.users("poster", "fan")
        s = self.api("poster", "POST", "/api/v1/statuses", status="like me")
        self.api("fan", "POST", "/api/v1/accounts/%s/follow" % self.ids["poster"])
        self.assertTrue(wait_until(lambda: len(self.stack.notifications(self.tok["poster"])) == 1))
        # The consumer is frozen, so the event cannot have left threadly-service before the kill.
        self.stack.notif.proc.send_signal(signal.SIGSTOP)
        try:
            self.api("fan", "POST", "/api/v1/statuses/%s/favourite" % s["id"])
            self.kill_and_restart("core")
        finally:
            self.stack.notif.proc.send_signal(signal.SIGCONT)
        self.assertTrue(wait_until(
            lambda: [n["type"] for n in self.stack.notifications(self.tok["poster"])] ==
            ["favourite", "follow"], 15), self.stack.notifications(self.tok["poster"]))

    def test_threadly_stopped_then_back(self):
        self.users("poster", "fan")
        s = self.api("poster", "POST", "/api/v1/statuses", status="wait for me")
        notif = "http://127.0.0.1:%d" % self.stack.notif_port
        self.assertEqual(call(notif, "GET", "/ready")[0], 200)
        self.assertEqual(self.stack.core.terminate(), 0)

        def not_ready():
            st, body = call(notif, "GET", "/ready")
            return st == 503 and body["checks"]["event_feed"] == "down" and body
        body = wait_until(not_ready, 15)
        self.assertTrue(body, call(notif, "GET", "/ready"))
        self.assertEqual(body["checks"]["database"], "ok")
        self.assertEqual(call(notif, "GET", "/health")[0], 200, "still up")
        # REST keeps working without threadly-service (tokens are verified with the key alone)
        self.assertEqual(self.stack.notifications(self.tok["poster"]), [])
        time.sleep(1.0)  # a few failed polls with backoff
        self.assertIsNone(self.stack.notif.proc.poll())

        self.stack.start_core()
        self.api("fan", "POST", "/api/v1/statuses/%s/favourite" % s["id"])
        self.assertTrue(wait_until(
            lambda: [n["type"] for n in self.stack.notifications(self.tok["poster"])] ==
            ["favourite"], 15))
        self.assertTrue(wait_until(lambda: call(notif, "GET", "/ready")[0] == 200, 10))


if __name__ == "__main__":
    unittest.main()
