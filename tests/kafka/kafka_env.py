"""kafka_env.py - what the two-service Kafka tests (test_kafka_transport.py, test_kafka_mail.py)
share: the real broker they need, or the SKIP (FAIL under TEST_REQUIRE=kafka) without one, and
a polling helper."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))
import harness  # noqa: E402


def real_broker(test_name, needs):
    """TEST_KAFKA_BOOTSTRAP, printed with the broker's version; without it the process ends:
    SKIP (exit 0), or FAIL (exit 1) when TEST_REQUIRE names kafka."""
    bootstrap = os.environ.get("TEST_KAFKA_BOOTSTRAP")
    if not bootstrap:
        if "kafka" in [p.strip() for p in os.environ.get("TEST_REQUIRE", "").split(",")]:
            print("FAIL: TEST_REQUIRE names kafka but no real broker (TEST_KAFKA_BOOTSTRAP)",
                  file=sys.stderr)
            sys.exit(1)
        print("SKIP: no real Kafka broker (TEST_KAFKA_BOOTSTRAP unset; scripts/kafka could not "
              "start one): %s needs one" % needs, file=sys.stderr)
        sys.exit(0)
    print("%s: real Apache Kafka broker at %s (version %s)"
          % (test_name, bootstrap, os.environ.get("TEST_KAFKA_VERSION", "?")), file=sys.stderr)
    return bootstrap


def wait_until(pred, timeout=30, step=0.1):
    """harness.wait_until with this suite's defaults (a broker is slower than a service)."""
    return harness.wait_until(pred, timeout, step)
