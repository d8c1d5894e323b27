#!/usr/bin/env python3
"""boto3 baseline for the SQS client's throughput: receive + delete until the queue is
empty, the measurement the C++ tool bench/sqs_drain makes, so both run in one session.

N threads, each with its own boto3 client (own Session, own keep-alive connection):
ReceiveMessage (10 per call, all system and message attributes, WaitTimeSeconds W),
then DeleteMessageBatch of what came back (failed entries retried once). A thread
stops at its first empty receive; the run ends when all have stopped.

    bench/baseline/sqs_drain_boto3.py --queue-name bench --threads 16

The wire protocol is the one of the botocore that runs it: bench/.venv/bin/python
(botocore 1.43) speaks AWS JSON; /usr/bin/python3 with Debian's boto3 1.26 speaks query.

Prints one JSON line. messages = messages deleted; seconds = from the first receive to
the last successful delete (the drain itself), msgs_per_sec = messages / seconds;
seconds_total adds the final empty receives (at least W). cpu_* and peak_rss_kb are
this process's (CPU counted from the first receive: client construction is excluded)."""

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import benchlib  # noqa: E402

benchlib.require_modules("boto3")


class Stats:
    def __init__(self, track_duplicates):
        self.lock = threading.Lock()
        self.received = 0
        self.deleted = 0
        self.delete_failed = 0
        self.receive_errors = 0
        self.message_ids = set() if track_duplicates else None
        self.duplicates = 0 if track_duplicates else None
        self.last_delete = None


def poller(client, args, queue_url, stats, start_gate):
    import botocore.exceptions

    start_gate.wait()
    errors_in_row = 0
    while True:
        try:
            resp = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                          WaitTimeSeconds=args.wait_time_seconds,
                                          AttributeNames=["All"], MessageAttributeNames=["All"],
                                          **({"VisibilityTimeout": args.visibility_timeout}
                                             if args.visibility_timeout is not None else {}))
        except botocore.exceptions.ClientError as e:
            # local-aws-sqs answers OverLimit on the query protocol with >= 10,000 visible.
            with stats.lock:
                stats.receive_errors += 1
            errors_in_row += 1
            benchlib.log(f"receive failed: {e.response.get('Error', {}).get('Code')}")
            if errors_in_row >= 5:
                raise
            time.sleep(0.2)
            continue
        errors_in_row = 0
        messages = resp.get("Messages") or []
        if not messages:
            return
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        deleted = 0
        for _ in range(2):
            out = client.delete_message_batch(QueueUrl=queue_url, Entries=entries)
            deleted += len(out.get("Successful") or [])
            failed_ids = {f["Id"] for f in out.get("Failed") or []}
            entries = [e for e in entries if e["Id"] in failed_ids]
            if not entries:
                break
        now = time.monotonic()
        with stats.lock:
            stats.received += len(messages)
            if stats.message_ids is not None:
                for m in messages:
                    if m["MessageId"] in stats.message_ids:
                        stats.duplicates += 1
                    stats.message_ids.add(m["MessageId"])
            stats.deleted += deleted
            stats.delete_failed += len(entries)
            stats.last_delete = now


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    benchlib.add_sqs_args(p)
    p.add_argument("--threads", type=int, default=1, help="concurrent pollers, one client each (default 1)")
    p.add_argument("--wait-time-seconds", type=int, default=1,
                   help="ReceiveMessage WaitTimeSeconds (default 1; the run ends with an empty receive)")
    p.add_argument("--visibility-timeout", type=int, default=None, help="ReceiveMessage VisibilityTimeout")
    p.add_argument("--track-duplicates", action="store_true",
                   help="count MessageIds received twice (keeps every id: adds to peak RSS, so off by default)")
    args = p.parse_args()

    info = benchlib.boto3_info()
    clients = [benchlib.boto3_client(args, pool=1) for _ in range(args.threads)]
    queue_url = benchlib.resolve_queue_url(clients[0], args)
    before = benchlib.queue_counts(clients[0], queue_url)

    stats = Stats(args.track_duplicates)
    gate = threading.Event()
    errors = []

    def run(client):
        try:
            poller(client, args, queue_url, stats, gate)
        except Exception as e:  # reported below; the other pollers go on
            errors.append(e)

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    meter = benchlib.Meter()
    t0 = time.monotonic()
    gate.set()
    for t in threads:
        t.join()
    total = time.monotonic() - t0
    seconds = (stats.last_delete - t0) if stats.last_delete else total
    figures = meter.figures(stats.deleted, seconds)

    after = benchlib.queue_counts(clients[0], queue_url)
    result = {"tool": "sqs_drain_boto3", **info, "threads": args.threads,
              "wait_time_seconds": args.wait_time_seconds, "queue_url": queue_url,
              **figures, "seconds_total": round(total, 3), "received": stats.received,
              "deleted": stats.deleted, "duplicates": stats.duplicates,
              "delete_failed": stats.delete_failed, "receive_errors": stats.receive_errors,
              "visible_before": before[0], "remaining": sum(after)}
    for e in errors:
        benchlib.log(f"poller failed: {e!r}")
    benchlib.log(f"{stats.deleted} deleted in {seconds:.2f} s ({figures['msgs_per_sec']}/s, "
                 f"{args.threads} threads, boto3 {info['boto3']}, {info['protocol']}); "
                 f"{sum(after)} left in the queue")
    benchlib.emit(result)
    return 1 if errors or stats.delete_failed else 0


if __name__ == "__main__":
    sys.exit(main())
