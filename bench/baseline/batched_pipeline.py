#!/usr/bin/env python3
"""The take-home task in Python with the obvious fix applied, batching, as a baseline
for sqs2pg's end-to-end figures: one thread, boto3 ReceiveMessage (10 per call), the
rows of the batch made exactly as original_pipeline.py makes them (its to_row: SHA-256
hex of ip and device_id, unkeyed; app_version without its dots as an integer;
create_date = today), one multi-row INSERT of the batch (psycopg2.extras.execute_values,
one statement) and one COMMIT, then one DeleteMessageBatch of the batch, only after the
COMMIT succeeded (failed entries retried once). A message that does not fit is logged
without its content, counted as rejected and deleted with the batch. When Postgres
refuses the batch with a data error, the batch is inserted again row by row under
savepoints in one transaction and the refused rows are the rejects. It stops at the
first empty receive, as the original does.

    DATABASE_URL=postgresql://... bench/baseline/batched_pipeline.py --queue-name bench

Runs on bench/.venv/bin/python (boto3 1.43, AWS JSON protocol) or /usr/bin/python3
(Debian boto3 1.26, query protocol); both use Debian's psycopg2 2.9.5.

Prints one JSON line with the fields of original_pipeline.py: messages (deleted =
inserted + rejected), seconds (first receive to last delete), msgs_per_sec, cpu_user_s,
cpu_sys_s, cpu_us_per_msg, peak_rss_kb (this process, from the first receive), p50_ms /
p99_ms (from the ReceiveMessage response to the COMMIT of the row's batch), inserted,
rejected, deleted, delete_failed, seconds_total."""

import argparse
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import benchlib  # noqa: E402

benchlib.require_modules("boto3", "psycopg2")

import psycopg2  # noqa: E402
import psycopg2.extras  # noqa: E402

from original_pipeline import FIELDS, to_row  # noqa: E402  (same rows, same masking)

REJECTS = (ValueError, KeyError, TypeError, AttributeError)


def insert_batch(conn, cur, insert_many, insert_one, rows):
    """Inserts rows in one transaction and commits; returns the indexes of the rows
    Postgres refused (a data error), which are then left out."""
    try:
        psycopg2.extras.execute_values(cur, insert_many, rows, page_size=len(rows))
        conn.commit()
        return []
    except psycopg2.DataError:
        conn.rollback()
    refused = []
    for i, row in enumerate(rows):
        cur.execute("SAVEPOINT r")
        try:
            cur.execute(insert_one, row)
            cur.execute("RELEASE SAVEPOINT r")
        except psycopg2.DataError:
            cur.execute("ROLLBACK TO SAVEPOINT r")
            refused.append(i)
    conn.commit()
    return refused


def delete_batch(sqs, queue_url, messages):
    """DeleteMessageBatch of the messages, failed entries retried once; (deleted, failed)."""
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    deleted = 0
    for _ in range(2):
        out = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        deleted += len(out.get("Successful") or [])
        failed_ids = {f["Id"] for f in out.get("Failed") or []}
        entries = [e for e in entries if e["Id"] in failed_ids]
        if not entries:
            break
    return deleted, len(entries)


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
    columns = ", ".join(FIELDS)
    insert_many = f"INSERT INTO {args.table} ({columns}) VALUES %s"
    insert_one = f"INSERT INTO {args.table} ({columns}) VALUES ({', '.join(['%s'] * len(FIELDS))})"
    today = datetime.date.today()

    received = inserted = rejected = deleted = delete_failed = 0
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
        rows, row_ids = [], []
        for m in messages:
            try:
                rows.append(to_row(m["Body"], today))
                row_ids.append(m["MessageId"])
            except REJECTS as e:
                rejected += 1
                benchlib.log(f"rejected message {m['MessageId']}: {type(e).__name__}")
        if rows:
            refused = insert_batch(conn, cur, insert_many, insert_one, rows)
            latency = time.monotonic() - t_received
            for i in refused:
                benchlib.log(f"rejected message {row_ids[i]}: DataError")
            rejected += len(refused)
            inserted += len(rows) - len(refused)
            latencies += [latency] * (len(rows) - len(refused))
        # Committed (or rejected): now the batch may go.
        ok, failed = delete_batch(sqs, queue_url, messages)
        deleted += ok
        delete_failed += failed
        last_delete = time.monotonic()
    total = time.monotonic() - t0
    seconds = (last_delete - t0) if last_delete else total
    figures = meter.figures(deleted, seconds)
    conn.close()

    latencies.sort()
    p50, p99 = benchlib.percentile(latencies, 50), benchlib.percentile(latencies, 99)
    result = {"tool": "batched_pipeline", **info, "psycopg2": psycopg2.__version__.split()[0],
              "threads": 1, "wait_time_seconds": args.wait_time_seconds, "queue_url": queue_url,
              **figures,
              "p50_ms": round(p50 * 1e3, 2) if p50 is not None else None,
              "p99_ms": round(p99 * 1e3, 2) if p99 is not None else None,
              "seconds_total": round(total, 3), "received": received, "inserted": inserted,
              "rejected": rejected, "deleted": deleted, "delete_failed": delete_failed}
    benchlib.log(f"{inserted} inserted, {rejected} rejected, {deleted} deleted in {seconds:.2f} s "
                 f"({figures['msgs_per_sec']}/s; boto3 {info['boto3']}, {info['protocol']})")
    benchlib.emit(result)
    return 1 if delete_failed else 0


if __name__ == "__main__":
    sys.exit(main())
