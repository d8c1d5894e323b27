"""Shared helpers of the Python benchmark scripts (load_queue.py, baseline/*.py):
interpreter selection, SQS settings from flags and environment, boto3 clients, the
sample-shaped message generator and the resource figures every script prints."""

import argparse
import json
import os
import random
import resource
import sys
import time
import uuid

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
VENV_PYTHON = os.path.join(BENCH_DIR, ".venv", "bin", "python")


def require_modules(*names):
    """Imports the named modules; when one is missing and bench/.venv (made by
    bench/setup) has them, re-executes the script with the venv's interpreter."""
    try:
        for name in names:
            __import__(name)
    except ImportError as err:
        # Compare prefixes: the venv's python is a symlink to the same interpreter binary.
        in_venv = os.path.realpath(sys.prefix) == os.path.realpath(os.path.dirname(os.path.dirname(VENV_PYTHON)))
        if os.path.exists(VENV_PYTHON) and not in_venv and not os.environ.get("SQS2PG_BENCH_REEXEC"):
            os.environ["SQS2PG_BENCH_REEXEC"] = "1"
            os.execv(VENV_PYTHON, [VENV_PYTHON] + sys.argv)
        sys.exit(f"{os.path.basename(sys.argv[0])}: {err} (run bench/setup, or use bench/.venv/bin/python)")


# --- SQS settings ------------------------------------------------------------------------

def add_sqs_args(parser: argparse.ArgumentParser, queue_required=True):
    g = parser.add_argument_group("SQS")
    q = g.add_mutually_exclusive_group(required=queue_required)
    q.add_argument("--queue-url", help="queue URL, used verbatim")
    q.add_argument("--queue-name", help="queue name, resolved with GetQueueUrl")
    g.add_argument("--endpoint-url",
                   default=os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ.get("AWS_ENDPOINT_URL"),
                   help="SQS endpoint (default: $AWS_ENDPOINT_URL_SQS, $AWS_ENDPOINT_URL)")
    g.add_argument("--region",
                   default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
                   help="signing region (default: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1)")


def boto3_client(args, pool=10):
    """A new SQS client on its own boto3 Session (sessions are not thread-safe, so each
    thread gets its own). Credentials come from the usual AWS chain (environment first)."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    return session.client(
        "sqs",
        endpoint_url=args.endpoint_url,
        region_name=args.region,
        config=Config(max_pool_connections=pool, retries={"mode": "standard", "max_attempts": 5},
                      connect_timeout=10, read_timeout=60),
    )


def boto3_info():
    """boto3/botocore versions and the SQS wire protocol their service model uses."""
    import boto3
    import botocore
    import botocore.session

    model = botocore.session.get_session().get_service_model("sqs")
    return {"boto3": boto3.__version__, "botocore": botocore.__version__, "protocol": model.protocol}


def resolve_queue_url(client, args):
    if args.queue_url:
        return args.queue_url
    return client.get_queue_url(QueueName=args.queue_name)["QueueUrl"]


def queue_counts(client, queue_url):
    """(visible, in flight, delayed) from GetQueueAttributes."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]
    attrs = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names).get("Attributes", {})
    return tuple(int(attrs.get(n, 0)) for n in names)


# --- Messages shaped like tests/data/sample_data.json -----------------------------------

# Locales seen in the sample; about 30% of the sample's locales are null.
LOCALES = ["ID", "CN", "RU", "FR", "PT", "PH", "BR", "KR", "PA", "VN", "DE", "KE", "PE", "MT", "GR",
           "MD", "NI", "US", "CZ", "UA", "IR", "CA", "MK", "CU", "SI", "NG", "MA", "MN", "MX", "PL",
           "BG", "TH"]
MALFORMED_KINDS = ("wrong_type", "not_json", "not_object")


class MessageFactory:
    """Makes message bodies like the sample's: JSON objects with user_id (UUID),
    app_version ("2.3.0", "0.96", "3.7"), device_type, ip (IPv4), locale (null in ~30%)
    and device_id ("593-47-5928"), serialised with json.dumps as the sample loader does.
    A malformed body is one of: the sample's wrong-type object, truncated JSON text, or
    a JSON value that is not an object."""

    def __init__(self, seed=None):
        self.rng = random.Random(seed)

    def app_version(self):
        r = self.rng
        if r.random() < 0.55:
            return f"{r.randrange(10)}.{r.randrange(10)}.{r.randrange(10)}"
        minor = r.randrange(100)
        return f"{r.randrange(10)}.{minor:02d}" if minor >= 10 or r.random() < 0.5 else f"{r.randrange(10)}.{minor}"

    def valid(self):
        r = self.rng
        return json.dumps({
            "user_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
            "app_version": self.app_version(),
            "device_type": r.choice(("android", "ios")),
            "ip": f"{r.randrange(1, 256)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)}",
            "locale": None if r.random() < 0.3 else r.choice(LOCALES),
            "device_id": f"{r.randrange(1000):03d}-{r.randrange(100):02d}-{r.randrange(10000):04d}",
        })

    def malformed(self):
        kind = self.rng.choice(MALFORMED_KINDS)
        if kind == "wrong_type":
            return json.dumps({"foo": "oops_wrong_msg_type", "bar": str(self.rng.randrange(1000))})
        if kind == "not_json":
            text = self.valid()
            return text[: len(text) // 2]
        return json.dumps([self.valid()])

    def bodies(self, count, malformed_fraction=0.0):
        """count bodies; exactly round(count * malformed_fraction) of them malformed, at
        random positions. Returns (bodies, malformed count)."""
        bad = round(count * malformed_fraction)
        bad_at = set(self.rng.sample(range(count), bad)) if bad else set()
        return [self.malformed() if i in bad_at else self.valid() for i in range(count)], bad


# --- Figures -----------------------------------------------------------------------------

class Meter:
    """Wall time and this process's CPU and peak RSS since construction."""

    def __init__(self):
        self.wall0 = time.monotonic()
        self.ru0 = resource.getrusage(resource.RUSAGE_SELF)

    def figures(self, messages, seconds=None):
        ru = resource.getrusage(resource.RUSAGE_SELF)
        user = ru.ru_utime - self.ru0.ru_utime
        sys_ = ru.ru_stime - self.ru0.ru_stime
        if seconds is None:
            seconds = time.monotonic() - self.wall0
        return {
            "messages": messages,
            "seconds": round(seconds, 3),
            "msgs_per_sec": round(messages / seconds, 1) if seconds > 0 else None,
            "cpu_user_s": round(user, 3),
            "cpu_sys_s": round(sys_, 3),
            "cpu_us_per_msg": round((user + sys_) * 1e6 / messages, 1) if messages else None,
            "peak_rss_kb": ru.ru_maxrss,  # kilobytes on Linux
        }


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def emit(obj):
    """The one JSON result line on stdout."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def log(*parts):
    print(f"{os.path.basename(sys.argv[0])}:", *parts, file=sys.stderr, flush=True)
