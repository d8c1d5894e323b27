#!/usr/bin/env python3
"""The take-home task done the original, straightforward way, as the baseline for
sqs2pg's end-to-end figures: one thread, boto3 ReceiveMessage (10 per call), for each
message json.loads, flatten, SHA-256 hex of ip and device_id, app_version made an
integer by removing the dots ("2.3.0" -> 230, "0.96" -> 96, "3.7" -> 37, as the common
take-home solutions do), create_date = today, one INSERT and COMMIT through psycopg2,
then DeleteMessage. A message that does not fit (not JSON, not an object, a field
missing, an app_version that is not digits and dots, a value Postgres refuses) is
logged without its content, counted as rejected and deleted, so the queue drains. It
stops at the first empty receive.

    DATABASE_URL=postgresql://... bench/baseline/original_pipeline.py --queue-name bench

Runs on bench/.venv/bin/python (boto3 1.43, AWS JSON protocol) or /usr/bin/python3
(Debian boto3 1.26, query protocol); both use Debian's psycopg2 2.9.5.

Prints one JSON line: messages (deleted = inserted + rejected), seconds (first receive
to last delete), msgs_per_sec, cpu_user_s, cpu_sys_s, cpu_us_per_msg, peak_rss_kb (this
process), p50_ms / p99_ms (receive-to-commit latency of inserted rows: from the
ReceiveMessage response to that row's COMMIT), inserted, rejected, seconds_total."""

import argparse
import datetime
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import benchlib  # noqa: E402

benchlib.require_modules("boto3", "psycopg2")

import psycopg2  # noqa: E402

FIELDS = ("user_id", "device_type", "masked_ip", "masked_device_id", "locale", "app_version", "create_date")


def mask(value):
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def to_row(body, today):
    """The login event as a user_logins row; raises ValueError/KeyError/TypeError/
    AttributeError for a message that does not fit."""
    event = json.loads(body)
    version = event["app_version"]
    digits = version.replace(".", "")
    if not digits.isdigit():
        raise ValueError("app_version is not digits and dots")
    return (event["user_id"], event["device_type"], mask(event["ip"]), mask(event["device_id"]),
            event["locale"], int(digits), today)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    benchlib.add_sqs_args(p)
    p.add_argument("--pg", default=os.environ.get("DATABASE_URL"),
                   help="libpq connection string or URL (default: $DATABASE_URL)")
    p.add_argument("--table", default="user_logins", help="target table (default user_logins)")
    p.add_argument("--wait-time-seconds", type=int, default=1,
                   help="ReceiveMessage WaitTimeSeconds (default 1; the run ends with an empty receive)")
    args = p.parse_args()
    if not args.pg:
        p.error("--pg or DATABASE_URL is required")

    info = benchlib.boto3_info()
    sqs = benchlib.boto3_client(args, pool=1)
    queue_url = benchlib.resolve_queue_url(sqs, args)
    conn = psycopg2.connect(args.pg)
    cur = conn.cursor()
    insert = f"INSERT INTO {args.table} ({', '.join(FIELDS)}) VALUES ({', '.join(['%s'] * len(FIELDS))})"
    today = datetime.date.today()

    received = inserted = rejected = deleted = 0
    latencies = []
    last_delete = None
    meter = benchlib.Meter()
    t0 = time.monotonic()
    while True:
        resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=args.wait_time_seconds)
        t_received = time.monotonic()
        messages = resp.get("Messages") or []
        if not messages:
            break
        received += len(messages)
        for m in messages:
            try:
                cur.execute(insert, to_row(m["Body"], today))
                conn.commit()
                latencies.append(time.monotonic() - t_received)
                inserted += 1
            except (ValueError, KeyError, TypeError, AttributeError, psycopg2.DataError) as e:
                conn.rollback()
                rejected += 1
                benchlib.log(f"rejected message {m['MessageId']}: {type(e).__name__}")
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            deleted += 1
            last_delete = time.monotonic()
    total = time.monotonic() - t0
    seconds = (last_delete - t0) if last_delete else total
    figures = meter.figures(deleted, seconds)
    conn.close()

    latencies.sort()
    p50, p99 = benchlib.percentile(latencies, 50), benchlib.percentile(latencies, 99)
    result = {"tool": "original_pipeline", **info, "psycopg2": psycopg2.__version__.split()[0],
              "threads": 1, "wait_time_seconds": args.wait_time_seconds, "queue_url": queue_url,
              **figures,
              "p50_ms": round(p50 * 1e3, 2) if p50 is not None else None,
              "p99_ms": round(p99 * 1e3, 2) if p99 is not None else None,
              "seconds_total": round(total, 3), "received": received, "inserted": inserted,
              "rejected": rejected, "deleted": deleted}
    benchlib.log(f"{inserted} inserted, {rejected} rejected, {deleted} deleted in {seconds:.2f} s "
                 f"({figures['msgs_per_sec']}/s; boto3 {info['boto3']}, {info['protocol']})")
    benchlib.emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
