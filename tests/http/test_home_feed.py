"""test_home_feed.py - the home timeline through the in-memory home feed over HTTP, on SQLite
(or PostgreSQL with THREADLY_TEST_DB=pgsql): after each write (posts of every visibility with
mentions, deletion, follow, unfollow, a locked account's request accepted), every home page of
a service with the feed equals the page of a second service on the same database without it
(--home-feed-size 0: the store query), and the visibility rules hold. Then two services with
feeds on one database: a post, a deletion and an unfollow made on one show on the other's home
timeline within the outbox tail interval (blue-green); a token revoked, or signed out by a
password reset, on one is refused by it at once and by the other within the tail interval
(the in-memory revocation cache, adapters/cache/token_store_cache.h); and a favourite,
reply, profile change, follow, post and deletion made on one show in the other's
GET /api/v1/statuses/:id although it had the status cached (the entity cache, ADR 006)."""
import contextlib
import json
import os
import time
import unittest
import urllib.parse

from harness import Service

CORE = os.environ["THREADLY_CORE_BIN"]
ARGS = ("--argon2-ops", "1", "--argon2-mem-kib", "8", "--signup-limit", "1000",
        "--login-limit", "1000", "--public-url", "http://threadly.test")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
NAMES = ("alice", "bob", "carol", "dave")


class World:
    """alice, bob, carol (locked) and dave, signed up on svc; calls go to any service."""

    def __init__(self, svc):
        r, app = svc.json("POST", "/api/v1/apps", json.dumps({
            "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow"}), JSON)
        r, j = svc.json("POST", "/oauth/token", urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "scope": "read write"}), FORM)
        app_token = j["access_token"]
        self.app = app
        self.tokens, self.ids = {}, {}
        for name in NAMES:
            r, j = svc.json("POST", "/api/v1/accounts", urllib.parse.urlencode({
                "username": name, "email": name + "@example.org", "password": "long password",
                "agreement": "1", "locale": "en"}), dict(FORM, Authorization="Bearer " + app_token))
            assert r.status == 200, j
            self.tokens[name] = j["access_token"]
            r, me = self.call(svc, name, "GET", "/api/v1/accounts/verify_credentials")
            self.ids[name] = me["id"]
        r, j = self.call(svc, "carol", "PATCH", "/api/v1/accounts/update_credentials",
                         {"locked": True})
        assert r.status == 200 and j["locked"], j

    def call(self, svc, who, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.tokens[who]}
        if body is not None:
            headers.update(JSON)
            body = json.dumps(body)
        return svc.json(method, path, body, headers)

    def post(self, svc, who, text, **kw):
        r, j = self.call(svc, who, "POST", "/api/v1/statuses", dict(status=text, **kw))
        assert r.status == 200, j
        return j["id"]

    def home(self, svc, who, query="limit=40"):
        r, j = self.call(svc, who, "GET", "/api/v1/timelines/home?" + query)
        assert r.status == 200, j
        return [s["id"] for s in j]


class HomeFeed(unittest.TestCase):
    def assert_same_pages(self, w, cached, plain):
        """Every account's home pages: the cached service answers as the store does."""
        for who in NAMES:
            every = w.home(plain, who)
            queries = ["limit=40", "limit=20", "limit=2"]
            for sid in every[::3]:
                queries += ["max_id=%s&limit=3" % sid, "since_id=%s&limit=2" % sid,
                            "min_id=%s&limit=2" % sid]
            for q in queries:
                self.assertEqual(w.home(cached, who, q), w.home(plain, who, q), (who, q))

    def test_cached_pages_equal_the_store_after_each_write(self):
        cached = Service(CORE, *ARGS, "--node-id", "1", "--home-feed-size", "6")
        plain = None
        try:
            plain = Service(CORE, *ARGS, "--node-id", "2", "--home-feed-size", "0",
                            data_dir=cached.data_dir)
            w = World(cached)
            i = w.ids
            for who in NAMES:  # every feed built before the writes
                self.assertEqual(w.home(cached, who), [])

            def follow(who, whom, on=True):
                r, j = w.call(cached, who, "POST", "/api/v1/accounts/%s/%s" % (
                    i[whom], "follow" if on else "unfollow"))
                self.assertEqual(r.status, 200, j)
                return j

            follow("bob", "alice")
            follow("dave", "bob")
            self.assertTrue(follow("bob", "carol")["requested"])
            pub = w.post(cached, "alice", "hello")
            priv = w.post(cached, "alice", "friends only", visibility="private")
            dm = w.post(cached, "alice", "@dave psst", visibility="direct")
            priv_mention = w.post(cached, "alice", "@dave private", visibility="private")
            pub_mention = w.post(cached, "alice", "@dave public", visibility="public")
            unl = w.post(cached, "bob", "unlisted", visibility="unlisted")
            carol_priv = w.post(cached, "carol", "locked", visibility="private")
            self.assert_same_pages(w, cached, plain)
            home = w.home(cached, "bob")
            self.assertEqual(home, [unl, pub_mention, priv_mention, priv, pub])
            self.assertEqual(w.home(cached, "dave"), [unl, priv_mention, dm])
            self.assertEqual(w.home(cached, "carol"), [carol_priv])
            self.assertEqual(w.home(cached, "alice"),
                             [pub_mention, priv_mention, dm, priv, pub])
            # The request is accepted: carol's private post reaches bob.
            r, j = w.call(cached, "carol", "POST",
                          "/api/v1/follow_requests/%s/authorize" % i["bob"])
            self.assertEqual(r.status, 200, j)
            self.assertEqual(w.home(cached, "bob")[0], carol_priv)
            # Deleted: gone at once.
            r, j = w.call(cached, "alice", "DELETE", "/api/v1/statuses/" + priv)
            self.assertEqual(r.status, 200, j)
            self.assertNotIn(priv, w.home(cached, "bob"))
            # Unfollowed: alice's posts leave bob's home; followed again, they are back.
            follow("bob", "alice", False)
            self.assertEqual(w.home(cached, "bob"), [carol_priv, unl])
            self.assert_same_pages(w, cached, plain)
            follow("bob", "alice")
            self.assertIn(pub, w.home(cached, "bob"))
            # More than the feed holds (6): older pages come from the store.
            for k in range(9):
                w.post(cached, ("alice", "bob", "dave")[k % 3], "post %d" % k,
                       visibility=("public", "private", "unlisted")[k % 3])
            self.assert_same_pages(w, cached, plain)
        finally:
            if plain:
                self.assertEqual(plain.terminate(), 0)
            self.assertEqual(cached.terminate(), 0)

    @contextlib.contextmanager
    def blue_green(self):
        """Two services with feeds on one database (blue-green), each reading the outbox
        every 50 ms; both must exit cleanly."""
        blue = Service(CORE, *ARGS, "--node-id", "1", "--home-feed-tail-ms", "50")
        green = None
        try:
            green = Service(CORE, *ARGS, "--node-id", "2", "--home-feed-tail-ms", "50",
                            data_dir=blue.data_dir)
            yield blue, green
        finally:
            if green:
                self.assertEqual(green.terminate(), 0)
            self.assertEqual(blue.terminate(), 0)

    def test_two_services_on_one_database(self):
        with self.blue_green() as (blue, green):
            w = World(blue)
            r, j = w.call(blue, "bob", "POST", "/api/v1/accounts/%s/follow" % w.ids["alice"])
            self.assertEqual(r.status, 200, j)
            self.assertEqual(w.home(green, "bob"), [])  # green builds bob's feed now

            def soon(pred, what):
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    if pred():
                        return
                    time.sleep(0.02)
                self.fail(what)

            sid = w.post(blue, "alice", "from blue", visibility="private")
            self.assertEqual(w.home(blue, "bob"), [sid])  # its own write: at once
            t0 = time.monotonic()
            soon(lambda: w.home(green, "bob") == [sid], "blue's post on green")
            self.assertLess(time.monotonic() - t0, 2)
            self.assertEqual(w.home(green, "carol"), [])
            gid = w.post(green, "alice", "from green")
            soon(lambda: w.home(blue, "bob") == [gid, sid], "green's post on blue")
            r, j = w.call(blue, "alice", "DELETE", "/api/v1/statuses/" + sid)
            self.assertEqual(r.status, 200, j)
            soon(lambda: w.home(green, "bob") == [gid], "blue's deletion on green")
            r, j = w.call(blue, "bob", "POST", "/api/v1/accounts/%s/unfollow" % w.ids["alice"])
            self.assertEqual(r.status, 200, j)
            soon(lambda: w.home(green, "bob") == [], "blue's unfollow on green")

    def test_revocations_on_two_services(self):
        with self.blue_green() as (blue, green):
            w = World(blue)

            def status(svc, who):
                return w.call(svc, who, "GET", "/api/v1/accounts/verify_credentials")[0].status

            def refused_soon(svc, who, what):
                t0 = time.monotonic()
                while status(svc, who) != 401:
                    self.assertLess(time.monotonic() - t0, 2, what)
                    time.sleep(0.02)

            def revoke(svc, who):
                r, j = svc.json("POST", "/oauth/revoke", urllib.parse.urlencode({
                    "client_id": w.app["client_id"], "client_secret": w.app["client_secret"],
                    "token": w.tokens[who]}), FORM)
                self.assertEqual(r.status, 200, j)

            for svc in (blue, green, blue, green):  # both caches hold every token as valid
                for who in NAMES:
                    self.assertEqual(status(svc, who), 200, who)
            revoke(blue, "alice")
            self.assertEqual(status(blue, "alice"), 401, "its own revocation: at once")
            refused_soon(green, "alice", "blue's revocation on green")
            revoke(green, "bob")
            self.assertEqual(status(green, "bob"), 401)
            refused_soon(blue, "bob", "green's revocation on blue")
            # A password reset on green signs carol out there at once and on blue soon.
            r, body = green.request("POST", "/auth/password",
                                    urllib.parse.urlencode({"email": "carol@example.org"}), FORM)
            self.assertEqual(r.status, 200, body)
            r, j = green.json("GET", "/internal/v1/events?after=0&limit=1000")
            (reset,) = [e["event"]["data"]["reset_token"] for e in j["events"]
                        if e["event"]["type"] == "account.password_reset_requested"]
            r, body = green.request("POST", "/auth/password/edit", urllib.parse.urlencode({
                "token": reset, "password": "new password 1",
                "password_confirmation": "new password 1"}), FORM)
            self.assertEqual(r.status, 200, body)
            self.assertEqual(status(green, "carol"), 401, "its own reset: at once")
            refused_soon(blue, "carol", "green's password reset on blue")
            for svc in (blue, green):
                self.assertEqual(status(svc, "dave"), 200, "the others' tokens still work")

    def test_entity_cache_on_two_services(self):
        """GET /api/v1/statuses/:id from the entity cache (ADR 006): a write shows at once on
        the service that made it and within the tail interval on the other one, which had
        the status and its author cached; both end up rendering what the database says."""
        with self.blue_green() as (blue, green):
            w = World(blue)
            sid = w.post(blue, "alice", "cache me")

            def get(svc, who="dave", status_id=sid):
                return w.call(svc, who, "GET", "/api/v1/statuses/" + status_id)

            def soon(pred, what):
                t0 = time.monotonic()
                while not pred():
                    self.assertLess(time.monotonic() - t0, 2, what)
                    time.sleep(0.02)

            def cached_everywhere():
                for svc in (blue, green):
                    for _ in range(2):  # the second read is a hit
                        self.assertEqual(get(svc)[0].status, 200)

            def hits(svc):
                r, body = svc.request("GET", "/metrics")
                (line,) = [x for x in body.decode().splitlines()
                           if x.startswith("threadly_entity_cache_hits_total ")]
                return float(line.split()[1])

            cached_everywhere()
            self.assertGreater(hits(green), 0)
            steps = [
                ("favourite", lambda: w.call(blue, "bob", "POST",
                                             "/api/v1/statuses/%s/favourite" % sid),
                 lambda j: j["favourites_count"] == 1),
                ("reply", lambda: w.call(blue, "bob", "POST", "/api/v1/statuses",
                                         {"status": "re", "in_reply_to_id": sid}),
                 lambda j: j["replies_count"] == 1),
                ("profile", lambda: w.call(blue, "alice", "PATCH",
                                           "/api/v1/accounts/update_credentials",
                                           {"display_name": "Alice <new>"}),
                 lambda j: j["account"]["display_name"] == "Alice <new>"),
                ("follow", lambda: w.call(blue, "dave", "POST",
                                          "/api/v1/accounts/%s/follow" % w.ids["alice"]),
                 lambda j: j["account"]["followers_count"] == 1),
                ("post", lambda: w.call(blue, "alice", "POST", "/api/v1/statuses",
                                        {"status": "another"}),
                 lambda j: j["account"]["statuses_count"] == 2),
                ("unfavourite", lambda: w.call(blue, "bob", "POST",
                                               "/api/v1/statuses/%s/unfavourite" % sid),
                 lambda j: j["favourites_count"] == 0),
            ]
            for name, write, done in steps:
                cached_everywhere()
                r, j = write()
                self.assertEqual(r.status, 200, (name, j))
                r, j = get(blue)
                self.assertTrue(done(j), ("its own write, at once", name, j))
                soon(lambda: done(get(green)[1]), "blue's %s on green" % name)
            # Viewer-dependent parts are never shared between viewers.
            self.assertFalse(get(green, "dave")[1]["favourited"])
            w.call(green, "dave", "POST", "/api/v1/statuses/%s/favourite" % sid)
            self.assertTrue(get(green, "dave")[1]["favourited"])
            self.assertFalse(get(green, "bob")[1]["favourited"])
            soon(lambda: get(blue, "carol")[1]["favourites_count"] == 1, "green's on blue")
            r, j = w.call(blue, "alice", "DELETE", "/api/v1/statuses/" + sid)
            self.assertEqual(r.status, 200, j)
            self.assertEqual(get(blue)[0].status, 404)
            soon(lambda: get(green)[0].status == 404, "blue's deletion on green")


if __name__ == "__main__":
    unittest.main()
