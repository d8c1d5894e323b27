#!/usr/bin/env python3
"""Runs a libFuzzer binary for a bounded time on a seed corpus. Exits with the fuzzer's
status, so a crash or invariant failure fails the test.

usage: run_fuzz.py FUZZER SEEDS DICT ARTIFACT_DIR [http]
SEEDS is the sample messages (a JSON array: the record fuzzer's bodies) or the directory
of captured SQS answers (*.http: the SQS fuzzers' answers, with plain-shape answers made
from the sample bodies). With `http` the seeds are whole answers (status line, header
fields, body: the captures as they are), for sqs_answer_fuzz; without it, bodies only.
SQS2PG_FUZZ_SECONDS sets the time (default 30)."""
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "sample_data.json")
XMLNS = ' xmlns="http://queue.amazonaws.com/doc/2012-11-05/"'


def xml_text(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def answer_seeds(captures, whole=False):
    """The captured answers (their bodies, or whole with `whole`), and plain-shape answers
    (what the fast paths read) of ReceiveMessage and DeleteMessageBatch in both protocols."""
    for path in sorted(glob.glob(os.path.join(captures, "*.http"))):
        with open(path, "rb") as f:
            raw = f.read()
        if whole:
            yield "capture_" + os.path.basename(path), raw
            continue
        for sep in (b"\r\n\r\n", b"\n\n"):
            if sep in raw:
                yield "capture_" + os.path.basename(path), raw.split(sep, 1)[1]
                break
    for name, body in plain_answers():
        if whole:
            kind = b"application/x-amz-json-1.0" if name.startswith("json") else b"text/xml"
            body = b"HTTP/1.1 200 OK\r\nContent-Type: " + kind + b"\r\n\r\n" + body
        yield name, body
    if whole:
        yield "json_error_header", (
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\n"
            b"x-amzn-query-error: AWS.SimpleQueueService.NonExistentQueue;Sender\r\n\r\n"
            b'{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"gone"}'
        )
        yield "html_503", b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\n\r\n<html>busy</html>"
        yield "empty_500", b"HTTP/1.1 500 Internal Server Error\r\nX-Amzn-ErrorType: InternalFailure\r\n\r\n"


def plain_answers():
    with open(SAMPLE, encoding="utf-8") as f:
        bodies = [json.dumps(m) for m in json.load(f)]
    for i in range(0, len(bodies), 10):
        group = bodies[i : i + 1 + i % 3]
        msgs = [
            {
                "MessageId": f"00000000-0000-4000-8000-{k:012}",
                "ReceiptHandle": f"AQEB+{k}/handle==",
                # Right for most, wrong for one in three: both sides of the integrity check.
                "MD5OfBody": "0" * 32 if k % 3 == 2 else hashlib.md5(b.encode()).hexdigest(),
                "Body": b,
                "Attributes": {"SentTimestamp": "1700000000000", "ApproximateReceiveCount": "1"},
            }
            for k, b in enumerate(group)
        ]
        yield f"json_receive_{i:03}", json.dumps({"Messages": msgs}).encode()
        xml = "".join(
            f"<Message><MessageId>{m['MessageId']}</MessageId><ReceiptHandle>{xml_text(m['ReceiptHandle'])}"
            f"</ReceiptHandle><MD5OfBody>{m['MD5OfBody']}</MD5OfBody><Body>{xml_text(m['Body'])}</Body>"
            "<Attribute><Name>SentTimestamp</Name><Value>1700000000000</Value></Attribute></Message>"
            for m in msgs
        )
        yield f"xml_receive_{i:03}", (
            f"<ReceiveMessageResponse{XMLNS}><ReceiveMessageResult>{xml}</ReceiveMessageResult>"
            "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ReceiveMessageResponse>"
        ).encode()
    yield "json_batch", json.dumps(
        {"Successful": [{"Id": "0"}, {"Id": "1"}],
         "Failed": [{"Id": "2", "Code": "ReceiptHandleIsInvalid", "SenderFault": True, "Message": "m"}]}
    ).encode()
    yield "xml_batch", (
        f"<DeleteMessageBatchResponse{XMLNS}><DeleteMessageBatchResult>"
        "<DeleteMessageBatchResultEntry><Id>0</Id></DeleteMessageBatchResultEntry>"
        "<BatchResultErrorEntry><Id>1</Id><Code>ReceiptHandleIsInvalid</Code><SenderFault>true"
        "</SenderFault><Message>m</Message></BatchResultErrorEntry></DeleteMessageBatchResult>"
        "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteMessageBatchResponse>"
    ).encode()


def seeds(sample_path):
    with open(sample_path, encoding="utf-8") as f:
        messages = json.load(f)
    for i, m in enumerate(messages):
        yield f"sample_{i:03}", json.dumps(m)
        if i % 10 == 0 and isinstance(m, dict) and "device_id" in m:
            # The same message nested, for the dotted-key mapping.
            nested = dict(m)
            nested["device"] = {"id": nested.pop("device_id")}
            nested["client"] = {"net": {"ip": nested.pop("ip")}}
            nested["meta"] = {"locale": nested.pop("locale")}
            yield f"nested_{i:03}", json.dumps(nested)


def main():
    fuzzer, sample, dictionary, artifacts = sys.argv[1:5]
    whole = sys.argv[5:6] == ["http"]
    seconds = int(os.environ.get("SQS2PG_FUZZ_SECONDS", "30"))
    os.makedirs(artifacts, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sqs2pg-fuzz-") as corpus:
        if os.path.isdir(sample):
            for name, data in answer_seeds(sample, whole):
                with open(os.path.join(corpus, name), "wb") as f:
                    f.write(data)
        else:
            for name, text in seeds(sample):
                with open(os.path.join(corpus, name), "w", encoding="utf-8") as f:
                    f.write(text)
        cmd = [
            fuzzer,
            f"-max_total_time={seconds}",
            "-timeout=10",
            "-rss_limit_mb=2048",
            "-max_len=8192",
            "-print_final_stats=1",
            f"-dict={dictionary}",
            f"-artifact_prefix={os.path.join(artifacts, '')}",
            corpus,
        ]
        print("running:", " ".join(cmd), flush=True)
        status = subprocess.run(cmd).returncode
    if status != 0:
        # libFuzzer exits with 77 on a crash, which meson reads as "skipped": any failure
        # is returned as 1.
        print(f"fuzzer failed with status {status}; reproducer in {artifacts}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
