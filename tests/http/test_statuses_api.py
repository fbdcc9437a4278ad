"""test_statuses_api.py - statuses, threads, favourites, follows and timelines over HTTP
against the real threadly-service on SQLite: entity shapes, visibility rules, pagination with
Link headers, and refusals."""
import json
import os
import re
import unittest
import urllib.parse

from harness import PGSQL, Service

CORE = os.environ["THREADLY_CORE_BIN"]
ARGS = ("--argon2-ops", "1", "--argon2-mem-kib", "8", "--signup-limit", "1000",
        "--login-limit", "1000", "--public-url", "http://threadly.test")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}

STATUS_KEYS = {"id", "uri", "url", "created_at", "account", "content", "visibility", "sensitive",
               "spoiler_text", "media_attachments", "mentions", "tags", "emojis",
               "reblogs_count", "favourites_count", "replies_count", "in_reply_to_id",
               "in_reply_to_account_id", "reblog", "poll", "card", "language", "edited_at",
               "favourited", "reblogged", "muted", "bookmarked", "pinned"}


class World:
    """Three users on one server: alice, bob (follows alice) and carol (locked)."""

    def __init__(self, svc):
        self.svc = svc
        r, app = svc.json("POST", "/api/v1/apps", json.dumps({
            "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow"}), JSON)
        self.app = app
        r, j = svc.json("POST", "/oauth/token", urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "scope": "read write"}), FORM)
        self.app_token = j["access_token"]
        self.tokens, self.ids = {}, {}
        for name in ("alice", "bob", "carol", "dave"):
            r, j = svc.json("POST", "/api/v1/accounts", urllib.parse.urlencode({
                "username": name, "email": name + "@example.org", "password": "long password",
                "agreement": "1", "locale": "en"}),
                dict(FORM, Authorization="Bearer " + self.app_token))
            assert r.status == 200, j
            self.tokens[name] = j["access_token"]
            r, me = self.call(name, "GET", "/api/v1/accounts/verify_credentials")
            self.ids[name] = me["id"]

    def call(self, who, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.tokens[who]} if who else {}
        if body is not None:
            headers.update(JSON)
            body = json.dumps(body)
        return self.svc.json(method, path, body, headers)

    def post(self, who, text, **kw):
        r, j = self.call(who, "POST", "/api/v1/statuses", dict(status=text, **kw))
        assert r.status == 200, j
        return j


class StatusesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = Service(CORE, *ARGS)
        cls.w = World(cls.svc)

    @classmethod
    def tearDownClass(cls):
        assert cls.svc.terminate() == 0, cls.svc.log_text()

    def test_post_entity_and_html(self):
        w = self.w
        s = w.post("alice", "Hi @bob and @nobody <script>x</script> #Threadly https://e.example/?a=1&b=2")
        self.assertEqual(set(s) - STATUS_KEYS, set())
        self.assertEqual(STATUS_KEYS - set(s), set())
        self.assertNotIn("scheduled_at", s)
        self.assertRegex(s["created_at"], r"\.\d{3}Z$")
        self.assertEqual(s["account"]["username"], "alice")
        self.assertEqual(s["visibility"], "public")
        self.assertEqual(s["url"], "http://threadly.test/@alice/" + s["id"])
        self.assertNotIn("<script>", s["content"])
        self.assertIn("&lt;script&gt;", s["content"])
        self.assertIn('href="http://threadly.test/@bob"', s["content"])
        self.assertIn("@nobody", s["content"])
        self.assertEqual([m["acct"] for m in s["mentions"]], ["bob"])
        self.assertEqual(s["tags"], [{"name": "threadly", "url": "http://threadly.test/tags/threadly"}])
        self.assertIsNone(s["in_reply_to_id"])
        r, j = w.call(None, "GET", "/api/v1/statuses/" + s["id"])
        self.assertEqual((r.status, j["id"]), (200, s["id"]))
        r, me = w.call("alice", "GET", "/api/v1/accounts/verify_credentials")
        self.assertGreaterEqual(me["statuses_count"], 1)
        self.assertRegex(me["last_status_at"], r"^\d{4}-\d\d-\d\d$")

    def test_replies_and_context(self):
        w = self.w
        root = w.post("alice", "root")
        reply = w.post("bob", "@alice reply", in_reply_to_id=root["id"])
        self.assertEqual(reply["in_reply_to_id"], root["id"])
        self.assertEqual(reply["in_reply_to_account_id"], w.ids["alice"])
        deeper = w.post("alice", "deeper", in_reply_to_id=reply["id"])
        r, j = w.call(None, "GET", "/api/v1/statuses/%s/context" % reply["id"])
        self.assertEqual([s["id"] for s in j["ancestors"]], [root["id"]])
        self.assertEqual([s["id"] for s in j["descendants"]], [deeper["id"]])
        r, j = w.call(None, "GET", "/api/v1/statuses/%s/context" % root["id"])
        self.assertEqual([s["id"] for s in j["descendants"]], [reply["id"], deeper["id"]])
        r, j = w.call(None, "GET", "/api/v1/statuses/" + root["id"])
        self.assertEqual(j["replies_count"], 1)
        r, j = w.call("bob", "POST", "/api/v1/statuses", {"status": "x", "in_reply_to_id": "42"})
        self.assertEqual(r.status, 404)

    def test_validation(self):
        w = self.w
        for body, field in (({"status": ""}, "text"), ({"status": "   "}, "text"),
                            ({"status": "x" * 501}, "text"),
                            ({"status": "ok", "visibility": "secret"}, "visibility")):
            r, j = w.call("alice", "POST", "/api/v1/statuses", body)
            self.assertEqual(r.status, 422, body)
            self.assertIn(field, j["details"], j)
        r, j = w.call("alice", "POST", "/api/v1/statuses",
                      {"status": "é" * 400 + " https://example.org/" + "a" * 200})
        self.assertEqual(r.status, 200, j)  # a link counts as 23 characters
        r, j = w.call(None, "POST", "/api/v1/statuses", {"status": "anonymous"})
        self.assertEqual(r.status, 401)
        r, j = self.svc.json("POST", "/api/v1/statuses", json.dumps({"status": "app token"}),
                             dict(JSON, Authorization="Bearer " + w.app_token))
        self.assertEqual(r.status, 422)

    def test_idempotency_key(self):
        w = self.w
        h = {"Authorization": "Bearer " + w.tokens["alice"], "Idempotency-Key": "k-123"}
        h.update(JSON)
        r1, a = self.svc.json("POST", "/api/v1/statuses", json.dumps({"status": "once"}), h)
        r2, b = self.svc.json("POST", "/api/v1/statuses", json.dumps({"status": "once"}), h)
        self.assertEqual(a["id"], b["id"])
        h["Authorization"] = "Bearer " + w.tokens["bob"]  # keys are per account
        r3, c = self.svc.json("POST", "/api/v1/statuses", json.dumps({"status": "once"}), h)
        self.assertNotEqual(c["id"], a["id"])

    def test_delete(self):
        w = self.w
        s = w.post("alice", "to delete")
        r, j = w.call("bob", "DELETE", "/api/v1/statuses/" + s["id"])
        self.assertEqual(r.status, 403)
        r, j = w.call("alice", "DELETE", "/api/v1/statuses/" + s["id"])
        self.assertEqual((r.status, j["text"]), (200, "to delete"))
        r, j = w.call(None, "GET", "/api/v1/statuses/" + s["id"])
        self.assertEqual(r.status, 404)
        r, j = w.call("alice", "DELETE", "/api/v1/statuses/" + s["id"])
        self.assertEqual(r.status, 404)

    def test_visibility(self):
        w = self.w
        priv = w.post("dave", "followers only", visibility="private")
        direct = w.post("dave", "@alice secret", visibility="direct")
        unlisted = w.post("dave", "unlisted", visibility="unlisted")
        r, _ = w.call("bob", "GET", "/api/v1/statuses/" + priv["id"])
        self.assertEqual(r.status, 404)  # bob does not follow dave
        r, _ = w.call("bob", "POST", "/api/v1/accounts/%s/follow" % w.ids["dave"])
        r, j = w.call("bob", "GET", "/api/v1/statuses/" + priv["id"])
        self.assertEqual(r.status, 200)
        r, _ = w.call("bob", "GET", "/api/v1/statuses/" + direct["id"])
        self.assertEqual(r.status, 404)
        r, _ = w.call("alice", "GET", "/api/v1/statuses/" + direct["id"])
        self.assertEqual(r.status, 200)  # mentioned
        r, _ = w.call(None, "GET", "/api/v1/statuses/" + direct["id"])
        self.assertEqual(r.status, 404)
        r, pub = w.call(None, "GET", "/api/v1/timelines/public?limit=40")
        ids = [s["id"] for s in pub]
        for hidden in (priv, direct, unlisted):
            self.assertNotIn(hidden["id"], ids)
        r, acct = w.call(None, "GET", "/api/v1/accounts/%s/statuses" % w.ids["dave"])
        self.assertEqual([s["id"] for s in acct], [unlisted["id"]])
        r, home = w.call("bob", "GET", "/api/v1/timelines/home?limit=40")
        self.assertIn(priv["id"], [s["id"] for s in home])
        self.assertNotIn(direct["id"], [s["id"] for s in home])
        r, home = w.call("alice", "GET", "/api/v1/timelines/home?limit=40")
        self.assertIn(direct["id"], [s["id"] for s in home])
        # favouriting what you cannot see is "not found"
        r, _ = w.call("carol", "POST", "/api/v1/statuses/%s/favourite" % priv["id"])
        self.assertEqual(r.status, 404)

    def test_favourites(self):
        w = self.w
        s = w.post("alice", "like me")
        for _ in range(2):  # idempotent
            r, j = w.call("bob", "POST", "/api/v1/statuses/%s/favourite" % s["id"])
            self.assertEqual((r.status, j["favourited"], j["favourites_count"]), (200, True, 1))
        r, j = w.call("alice", "GET", "/api/v1/statuses/" + s["id"])
        self.assertIs(j["favourited"], False)
        r, j = w.call(None, "GET", "/api/v1/statuses/%s/favourited_by" % s["id"])
        self.assertEqual([a["username"] for a in j], ["bob"])
        r, j = w.call(None, "GET", "/api/v1/statuses/%s/favourited_by?access_token=%s"
                      % (s["id"], w.tokens["carol"]))
        self.assertEqual([a["username"] for a in j], ["bob"])
        r, j = w.call(None, "GET", "/api/v1/statuses/%s/favourited_by?access_token=bad" % s["id"])
        self.assertEqual(r.status, 401)
        r, j = w.call("bob", "GET", "/api/v1/favourites")
        self.assertEqual(j[0]["id"], s["id"])
        r, j = w.call("bob", "POST", "/api/v1/statuses/%s/unfavourite" % s["id"])
        self.assertEqual((j["favourited"], j["favourites_count"]), (False, 0))
        r, j = w.call("bob", "POST", "/api/v1/statuses/999/favourite")
        self.assertEqual(r.status, 404)

    def test_follows_and_requests(self):
        w = self.w
        # (follow requests of locked accounts: test_profile_update_and_follow_requests)
        r, rel = w.call("alice", "POST", "/api/v1/accounts/%s/follow" % w.ids["carol"])
        self.assertEqual((r.status, rel["following"], rel["requested"]), (200, True, False))
        r, rel = w.call("alice", "POST", "/api/v1/accounts/%s/follow" % w.ids["carol"])
        self.assertEqual(rel["following"], True)  # idempotent
        r, j = w.call("carol", "GET", "/api/v1/accounts/relationships?id[]=%s&id[]=999"
                      % w.ids["alice"])
        self.assertEqual(j[0]["followed_by"], True)
        self.assertEqual(j[1]["following"], False)
        r, j = w.call(None, "GET", "/api/v1/accounts/%s/followers" % w.ids["carol"])
        self.assertIn("alice", [a["username"] for a in j])
        r, j = w.call(None, "GET", "/api/v1/accounts/%s/following" % w.ids["alice"])
        self.assertIn("carol", [a["username"] for a in j])
        r, j = w.call("carol", "GET", "/api/v1/accounts/" + w.ids["carol"])
        self.assertGreaterEqual(j["followers_count"], 1)
        r, rel = w.call("alice", "POST", "/api/v1/accounts/%s/unfollow" % w.ids["carol"])
        self.assertEqual(rel["following"], False)
        r, j = w.call("alice", "POST", "/api/v1/accounts/%s/follow" % w.ids["alice"])
        self.assertEqual(r.status, 403)
        r, j = w.call("alice", "POST", "/api/v1/accounts/424242/follow")
        self.assertEqual(r.status, 404)
        r, j = w.call("carol", "GET", "/api/v1/follow_requests")
        self.assertEqual((r.status, j), (200, []))
        r, j = w.call("carol", "POST", "/api/v1/follow_requests/%s/authorize" % w.ids["alice"])
        self.assertEqual(r.status, 404)

    def test_profile_update_and_follow_requests(self):
        w = self.w
        r, me = self.svc.json("PATCH", "/api/v1/accounts/update_credentials", urllib.parse.urlencode({
            "display_name": "Eve <b>", "note": "line <1>\nline 2", "locked": "true"}),
            dict(FORM, Authorization="Bearer " + w.tokens["carol"]))
        self.assertEqual(r.status, 200, me)
        self.assertEqual(me["display_name"], "Eve <b>")  # plain text; clients escape it
        self.assertEqual(me["note"], "<p>line &lt;1&gt;<br>line 2</p>")
        self.assertEqual(me["source"]["note"], "line <1>\nline 2")
        self.assertIs(me["locked"], True)
        r, j = w.call("carol", "PATCH", "/api/v1/accounts/update_credentials",
                      {"display_name": "x" * 31})
        self.assertEqual((r.status, list(j["details"])), (422, ["display_name"]))
        r, j = w.call("carol", "PATCH", "/api/v1/accounts/update_credentials", {"bot": "maybe"})
        self.assertEqual(r.status, 422)
        r, rel = w.call("dave", "POST", "/api/v1/accounts/%s/follow" % w.ids["carol"])
        self.assertEqual((rel["following"], rel["requested"]), (False, True))
        r, j = w.call("carol", "GET", "/api/v1/follow_requests")
        self.assertEqual([a["username"] for a in j], ["dave"])
        r, rel = w.call("carol", "POST", "/api/v1/follow_requests/%s/authorize" % w.ids["dave"])
        self.assertEqual((r.status, rel["followed_by"]), (200, True))
        r, j = w.call("carol", "GET", "/api/v1/follow_requests")
        self.assertEqual(j, [])
        r, j = w.call(None, "GET", "/api/v1/accounts/%s/followers" % w.ids["carol"])
        self.assertIn("dave", [a["username"] for a in j])
        r, me = w.call("carol", "PATCH", "/api/v1/accounts/update_credentials", {"locked": False})
        self.assertIs(me["locked"], False)

    def test_search_accounts(self):
        w = self.w
        for q in ("bob", "@bob", "BOB", "bob@threadly.test"):
            r, j = w.call("alice", "GET", "/api/v2/search?type=accounts&resolve=True&q="
                          + urllib.parse.quote(q))
            self.assertEqual([a["acct"] for a in j["accounts"]], ["bob"], q)
        r, j = w.call("alice", "GET", "/api/v2/search?q=bob@elsewhere.example")
        self.assertEqual(j["accounts"], [])
        r, j = w.call("alice", "GET", "/api/v2/search?q=")
        self.assertEqual(r.status, 422)


class WorkerThreadsTest(unittest.TestCase):
    def test_default_worker_threads_follow_the_engine(self):
        """--threads 0: one event thread per CPU; on PostgreSQL writes run on eight blocking
        workers per CPU (they wait on the database server), on SQLite two serve sign-ups."""
        svc = Service(CORE, *ARGS)
        try:
            pid = svc.proc.pid
            names = []
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                    names.append(f.read().strip())
            self.assertEqual(names.count("MHD-worker"), os.cpu_count(), names)
            want = os.cpu_count() * 8 if PGSQL else 2
            self.assertEqual(names.count("http-blocking"), want, names)
        finally:
            self.assertEqual(svc.terminate(), 0)


class InstanceStatsTest(unittest.TestCase):
    def test_counts_in_the_instance_entity(self):
        svc = Service(CORE, *ARGS)
        data = svc.data_dir
        try:
            w = World(svc)
            for i in range(3):
                w.post("alice", "count me %d" % i)
            s = w.post("bob", "and me")
            w.call("bob", "DELETE", "/api/v1/statuses/" + s["id"])
        finally:
            self.assertEqual(svc.terminate(), 0)
        svc = Service(CORE, *ARGS, data_dir=data)  # a fresh rendering of the entity
        try:
            r, j = svc.json("GET", "/api/v1/instance")
            self.assertEqual(j["stats"]["user_count"], 4)
            self.assertEqual(j["stats"]["status_count"], 3)
            r, j = svc.json("GET", "/api/v2/instance")
            self.assertEqual(j["usage"]["users"]["active_month"], 4)
        finally:
            self.assertEqual(svc.terminate(), 0)


class PaginationTest(unittest.TestCase):
    def test_max_since_min_and_links(self):
        svc = Service(CORE, *ARGS)
        try:
            w = World(svc)
            ids = [w.post("alice", "n%d" % i)["id"] for i in range(12)]
            newest_first = ids[::-1]
            r, page = w.call("alice", "GET", "/api/v1/accounts/%s/statuses?limit=5" % w.ids["alice"])
            self.assertEqual([s["id"] for s in page], newest_first[:5])
            link = r.getheader("Link")
            self.assertRegex(link, r'^<[^>]+max_id=%s>; rel="next", <[^>]+min_id=%s>; rel="prev"$'
                             % (newest_first[4], newest_first[0]))
            self.assertIn("limit=5", link)
            nxt = re.match(r"<([^>]+)>", link).group(1).replace("http://threadly.test", "")
            r, page2 = w.call("alice", "GET", nxt)
            self.assertEqual([s["id"] for s in page2], newest_first[5:10])
            r, j = w.call("alice", "GET", "/api/v1/timelines/home?limit=3&since_id=" + ids[5])
            self.assertEqual([s["id"] for s in j], newest_first[:3])  # newest page
            r, j = w.call("alice", "GET", "/api/v1/timelines/home?limit=3&min_id=" + ids[5])
            self.assertEqual([s["id"] for s in j], [ids[8], ids[7], ids[6]])  # right after
            r, j = w.call("alice", "GET", "/api/v1/timelines/home?max_id=" + ids[0])
            self.assertEqual((r.status, j), (200, []))
            self.assertIsNone(r.getheader("Link"))  # never on an empty page
            r, j = w.call("alice", "GET", "/api/v1/timelines/home?limit=1000")
            self.assertEqual(len(j), 12)
            r, j = w.call("alice", "GET", "/api/v1/timelines/home?max_id=abc")
            self.assertEqual(r.status, 422)
            r, j = w.call(None, "GET", "/api/v1/timelines/home")
            self.assertEqual(r.status, 401)
        finally:
            self.assertEqual(svc.terminate(), 0)


if __name__ == "__main__":
    unittest.main()
