"""kafka_e2e.py - end-to-end latency through Kafka (issue #4 "Numbers"): from
`POST /api/v1/statuses/:id/favourite` returning on threadly-service (--events-transport kafka:
outbox -> relay -> broker) to the notification being visible on notification-service (consumer
group -> consume_batch -> store), seen by polling `GET /api/v1/notifications?limit=1` on a
kept-alive connection every millisecond (so the poller does not take a CPU from the services). Not the WebSocket frame: the streaming hub is not
wired into notification-service on this branch, so this is REST visibility.

BENCH_TRANSPORT=feed runs the same over the embedded feed instead, for comparison.

Usage: bench/kafka_e2e.sh (starts the broker and passes its address) or
  THREADLY_CORE_BIN=... THREADLY_NOTIFICATION_BIN=... /usr/bin/python3 bench/kafka_e2e.py \
      BOOTSTRAP EVENTS
Prints per-event progress on stderr and one line `result: EVENTS p50_ms p90_ms p99_ms max_ms`.
"""
import http.client
import json
import os
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "http"))

from harness import Service  # noqa: E402
from test_events_feed import Client  # noqa: E402

CORE = os.environ["THREADLY_CORE_BIN"]
NOTIF = os.environ["THREADLY_NOTIFICATION_BIN"]
FAST = ("--argon2-ops", "1", "--argon2-mem-kib", "8", "--signup-limit", "100000",
        "--login-limit", "100000", "--public-url", "http://threadly.bench")


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values))) - 1)]


def main():
    bootstrap, events = sys.argv[1], int(sys.argv[2])
    data = os.environ.get("BENCH_DATA_DIR") or None
    prefix = "bench%s." % uuid.uuid4().hex[:8]
    kafka = ("--events-transport", "kafka", "--kafka-bootstrap", bootstrap,
             "--kafka-topic-prefix", prefix)
    if os.environ.get("BENCH_TRANSPORT") == "feed":  # the embedded profile, for comparison
        core = Service(CORE, *FAST, data_dir=data)
        notif = Service(NOTIF, "--events-url",
                        "http://127.0.0.1:%d/internal/v1/events" % core.port,
                        "--public-url", "http://threadly.bench", data_dir=core.data_dir)
    else:
        core = Service(CORE, *FAST, *kafka, data_dir=data)
        notif = Service(NOTIF, *kafka, "--kafka-group", prefix + "notification-service",
                        "--public-url", "http://threadly.bench", data_dir=core.data_dir)
    try:
        c = Client(core)
        c.sign_up("author")
        total = events + 1  # the first one warms up and is not measured
        fans = (total + 99) // 100
        per_fan = (total + fans - 1) // fans
        posts = [c.ok("author", "POST", "/api/v1/statuses", {"status": "post %d" % i})["id"]
                 for i in range(per_fan)]
        names = ["fan%d" % i for i in range(fans)]
        for n in names:
            c.sign_up(n)
        # Wait until the consumer is in its group and caught up (the account events).
        deadline = time.time() + 60
        while time.time() < deadline:
            r, j = notif.json("GET", "/ready")
            lag = None
            for line in notif.request("GET", "/metrics")[1].decode().splitlines():
                if line.startswith("kafka_consumer_assigned_partitions "):
                    lag = float(line.split()[1])
            if r.status == 200 and (os.environ.get("BENCH_TRANSPORT") == "feed" or
                                    (lag and lag > 0)):
                break
            time.sleep(0.2)
        auth = {"Authorization": "Bearer " + c.tokens["author"]}
        post_conn = core.conn()
        poll_conn = notif.conn()

        def top():
            poll_conn.request("GET", "/api/v1/notifications?limit=1", headers=auth)
            r = poll_conn.getresponse()
            body = json.loads(r.read())
            assert r.status == 200, body
            return body[0]["id"] if body else None

        # Warm-up: one favourite, not measured (first produce and fetch of each connection).
        last = top()
        lat = []
        done = 0
        t_all = time.time()
        for fan in names:
            fav_headers = {"Authorization": "Bearer " + c.tokens[fan]}
            for sid in posts:
                if done >= total:
                    break
                post_conn.request("POST", "/api/v1/statuses/%s/favourite" % sid,
                                  headers=fav_headers)
                r = post_conn.getresponse()
                r.read()
                assert r.status == 200, r.status
                t0 = time.perf_counter()
                while True:
                    now_top = top()
                    if now_top != last:
                        break
                    if time.perf_counter() - t0 > 30:
                        raise RuntimeError("notification %d did not appear in 30 s" % done)
                    # Leave the CPUs to the services (two here): at most 1 ms of resolution.
                    time.sleep(0.001)
                t1 = time.perf_counter()
                last = now_top
                if done > 0:
                    lat.append((t1 - t0) * 1000.0)
                done += 1
                if done % 1000 == 0:
                    print("%d events, %.0f s" % (done, time.time() - t_all), file=sys.stderr)
        lat.sort()
        print("result: %d %.2f %.2f %.2f %.2f" % (len(lat), percentile(lat, 50),
                                                percentile(lat, 90), percentile(lat, 99),
                                                lat[-1]))
    finally:
        notif.terminate()
        core.terminate()


if __name__ == "__main__":
    main()
