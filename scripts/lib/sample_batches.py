#!/usr/bin/env python3
"""Prints SQS query-protocol SendMessageBatch form bodies, one per line, for the
messages of a JSON array file (each element becomes one message body, sent as
the element's JSON text). Usage: sample_batches.py FILE QUEUE_URL [BATCH_SIZE]"""
import json
import sys
import urllib.parse


def main() -> int:
    path, queue_url = sys.argv[1], sys.argv[2]
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    with open(path, encoding="utf-8") as f:
        messages = json.load(f)
    for start in range(0, len(messages), size):
        params = [("Action", "SendMessageBatch"), ("QueueUrl", queue_url)]
        for n, msg in enumerate(messages[start:start + size], 1):
            params.append((f"SendMessageBatchRequestEntry.{n}.Id", f"m{start + n}"))
            params.append((f"SendMessageBatchRequestEntry.{n}.MessageBody",
                           json.dumps(msg, ensure_ascii=False)))
        params.append(("Version", "2012-11-05"))
        # urlencode's quote_plus style (space as '+') is what botocore sends, and what
        # moto re-creates when it checks the signature.
        print(urllib.parse.urlencode(params))
    return 0


if __name__ == "__main__":
    sys.exit(main())
