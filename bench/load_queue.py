#!/usr/bin/env python3
"""Fills an SQS queue with N messages shaped like tests/data/sample_data.json, quickly:
SendMessageBatch (10 per call) from several threads, each on its own keep-alive
connection. Creates the queue when --queue-name names one that does not exist.

Speaks the AWS JSON protocol (default) or the query protocol itself, signed with
botocore's SigV4 signer (moto with signature checks accepts it), or goes through boto3
with --boto3 (whatever protocol that botocore's model says). Works against moto,
local-aws-sqs (query and JSON) and fauxqs (JSON only).

    bench/load_queue.py --queue-name bench -n 9000 [--malformed 0.01] [--threads 4]

Prints one JSON line: queue_url, messages, malformed, seconds, msgs_per_sec, protocol,
visible (ApproximateNumberOfMessages after loading)."""

import argparse
import concurrent.futures
import hashlib
import json
import os
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

benchlib.require_modules("botocore")

import botocore.session  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402

import http.client  # noqa: E402


class SqsError(Exception):
    def __init__(self, status, code, message):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code = status, code


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _children(elem, name):
    return [c for c in elem if _local(c.tag) == name]


def _text(elem, name, default=None):
    for c in elem.iter():
        if _local(c.tag) == name:
            return c.text or ""
    return default


class RawSqs:
    """A minimal signed SQS client for the four calls the loader needs, on one
    keep-alive connection (one per thread)."""

    def __init__(self, endpoint, region, protocol):
        self.endpoint = endpoint.rstrip("/")
        u = urllib.parse.urlsplit(self.endpoint)
        cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        self.conn = cls(u.hostname, u.port, timeout=60)
        self.protocol = protocol
        self.region = region
        creds = botocore.session.get_session().get_credentials()
        if creds is None:
            sys.exit("load_queue.py: no AWS credentials (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
        self.signer = SigV4Auth(creds.get_frozen_credentials(), "sqs", region)

    def _send(self, action, body, headers):
        req = AWSRequest(method="POST", url=self.endpoint + "/", data=body, headers=headers)
        self.signer.add_auth(req)
        for attempt in range(3):
            try:
                self.conn.request("POST", "/", body=body, headers=dict(req.headers.items()))
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, ConnectionError, OSError):
                # A server may close an idle keep-alive connection (Node's default is 5 s).
                self.conn.close()
                if attempt == 2:
                    raise

    def call(self, action, params):
        if self.protocol == "json":
            body = json.dumps(params).encode()
            status, data = self._send(action, body, {
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": f"AmazonSQS.{action}",
            })
            if status != 200 and data.lstrip().startswith(b"<"):
                # moto answers auth failures in XML whatever the protocol was.
                root = ET.fromstring(data)
                raise SqsError(status, _text(root, "Code", f"HTTP{status}"), _text(root, "Message", ""))
            out = json.loads(data) if data.strip() else {}
            if status != 200:
                code = out.get("__type", "").rsplit("#", 1)[-1] or f"HTTP{status}"
                raise SqsError(status, code, out.get("message") or out.get("Message"))
            return out
        form = [("Action", action)] + _flatten(params) + [("Version", "2012-11-05")]
        # urlencode (space as '+') is what moto re-creates before checking the signature.
        body = urllib.parse.urlencode(form).encode()
        status, data = self._send(action, body, {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        root = ET.fromstring(data)
        if status != 200 or _local(root.tag) == "ErrorResponse":
            raise SqsError(status, _text(root, "Code", f"HTTP{status}"), _text(root, "Message", ""))
        return _from_query(action, root)


def _flatten(params):
    """JSON-protocol parameters to query-protocol form fields (only what we send)."""
    out = []
    for key, value in params.items():
        if key == "Entries":
            for n, entry in enumerate(value, 1):
                for k, v in entry.items():
                    out.append((f"SendMessageBatchRequestEntry.{n}.{k}", str(v)))
        elif key == "AttributeNames":
            out += [(f"AttributeName.{n}", v) for n, v in enumerate(value, 1)]
        elif key == "Attributes":
            for n, (k, v) in enumerate(value.items(), 1):
                out += [(f"Attribute.{n}.Name", k), (f"Attribute.{n}.Value", v)]
        else:
            out.append((key, str(value)))
    return out


def _from_query(action, root):
    if action in ("CreateQueue", "GetQueueUrl"):
        return {"QueueUrl": _text(root, "QueueUrl")}
    if action == "GetQueueAttributes":
        return {"Attributes": {_text(a, "Name"): _text(a, "Value") for a in root.iter() if _local(a.tag) == "Attribute"}}
    if action == "SendMessageBatch":
        result = next(e for e in root.iter() if _local(e.tag) == "SendMessageBatchResult")
        ok = [{"Id": _text(e, "Id"), "MD5OfMessageBody": _text(e, "MD5OfMessageBody")}
              for e in _children(result, "SendMessageBatchResultEntry")]
        failed = [{"Id": _text(e, "Id"), "Code": _text(e, "Code"), "Message": _text(e, "Message")}
                  for e in _children(result, "BatchResultErrorEntry")]
        return {"Successful": ok, "Failed": failed}
    raise ValueError(action)


class Boto3Sqs:
    """The same four calls through boto3 (its own protocol)."""

    def __init__(self, args):
        self.client = benchlib.boto3_client(args)
        self.protocol = benchlib.boto3_info()["protocol"]

    def call(self, action, params):
        import botocore.exceptions

        method = {"CreateQueue": self.client.create_queue, "GetQueueUrl": self.client.get_queue_url,
                  "GetQueueAttributes": self.client.get_queue_attributes,
                  "SendMessageBatch": self.client.send_message_batch}[action]
        try:
            return method(**params)
        except botocore.exceptions.ClientError as e:
            err = e.response.get("Error", {})
            raise SqsError(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                           err.get("Code"), err.get("Message")) from None


def make_client(args):
    if args.boto3:
        return Boto3Sqs(args)
    if not args.endpoint_url:
        sys.exit("load_queue.py: --endpoint-url or AWS_ENDPOINT_URL_SQS is required without --boto3")
    return RawSqs(args.endpoint_url, args.region, args.protocol)


NOT_FOUND = {"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "NonExistentQueue"}


def queue_url_for(client, args):
    if args.queue_url:
        return args.queue_url
    try:
        return client.call("GetQueueUrl", {"QueueName": args.queue_name})["QueueUrl"]
    except SqsError as e:
        if e.code not in NOT_FOUND:
            raise
    attrs = {"VisibilityTimeout": str(args.visibility_timeout)}
    url = client.call("CreateQueue", {"QueueName": args.queue_name, "Attributes": attrs})["QueueUrl"]
    benchlib.log(f"created queue {url}")
    return url


def send_batches(args, queue_url, bodies, batch_ids, progress):
    """Sends the given batches (indices into bodies, 10 per batch); retries failed
    entries a few times. Returns the number of messages that could not be sent."""
    client = make_client(args)
    lost = 0
    for b in batch_ids:
        pending = {f"m{i}": bodies[i] for i in range(b * 10, min(len(bodies), b * 10 + 10))}
        for attempt in range(5):
            entries = [{"Id": k, "MessageBody": v} for k, v in pending.items()]
            try:
                out = client.call("SendMessageBatch", {"QueueUrl": queue_url, "Entries": entries})
            except SqsError as e:
                if e.status is not None and e.status < 500 and e.code not in ("RequestThrottled", "ThrottlingException"):
                    raise
                time.sleep(0.05 * 2 ** attempt)
                continue
            for ok in out.get("Successful") or []:
                body = pending.pop(ok["Id"])
                md5 = ok.get("MD5OfMessageBody")
                if md5 and md5 != hashlib.md5(body.encode()).hexdigest():
                    raise RuntimeError(f"MD5OfMessageBody mismatch for {ok['Id']}")
            if not pending:
                break
            time.sleep(0.05 * 2 ** attempt)
        lost += len(pending)
        progress()
    return lost


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    benchlib.add_sqs_args(p)
    p.add_argument("-n", "--messages", type=int, required=True, help="how many messages to send")
    p.add_argument("--malformed", type=float, default=0.0, metavar="FRACTION",
                   help="fraction of malformed bodies (0..1), e.g. 0.01")
    p.add_argument("--threads", type=int, default=4, help="sending threads (default 4)")
    p.add_argument("--protocol", choices=("json", "query"), default="json",
                   help="wire protocol of the built-in client (default json; fauxqs speaks only json)")
    p.add_argument("--boto3", action="store_true", help="send through boto3 instead (its model's protocol)")
    p.add_argument("--seed", type=int, default=None, help="random seed for reproducible bodies")
    p.add_argument("--visibility-timeout", type=int, default=30,
                   help="VisibilityTimeout of a queue this creates (default 30)")
    args = p.parse_args()
    if not 0 <= args.malformed <= 1:
        p.error("--malformed is a fraction between 0 and 1")

    bodies, malformed = benchlib.MessageFactory(args.seed).bodies(args.messages, args.malformed)
    main_client = make_client(args)
    protocol = main_client.protocol
    queue_url = queue_url_for(main_client, args)

    nbatches = (len(bodies) + 9) // 10
    done = [0]
    lock = threading.Lock()
    tty = sys.stderr.isatty()

    def progress():
        with lock:
            done[0] += 1
            if tty and done[0] % 100 == 0:
                print(f"\rload_queue.py: {min(done[0] * 10, len(bodies))}/{len(bodies)}", end="",
                      file=sys.stderr, flush=True)

    threads = max(1, min(args.threads, nbatches or 1))
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(send_batches, args, queue_url, bodies, range(k, nbatches, threads), progress)
                   for k in range(threads)]
        lost = sum(f.result() for f in futures)
    seconds = time.monotonic() - t0
    if tty:
        print(file=sys.stderr)

    attrs = main_client.call("GetQueueAttributes", {"QueueUrl": queue_url,
                                                     "AttributeNames": ["ApproximateNumberOfMessages"]})
    visible = int(attrs.get("Attributes", {}).get("ApproximateNumberOfMessages", -1))
    sent = len(bodies) - lost
    benchlib.log(f"sent {sent} messages ({malformed} malformed) to {queue_url} in {seconds:.2f} s "
                 f"({sent / seconds if seconds else 0:.0f}/s, {protocol}, {threads} threads); {visible} visible")
    benchlib.emit({"queue_url": queue_url, "messages": sent, "malformed": malformed, "failed": lost,
                   "seconds": round(seconds, 3), "msgs_per_sec": round(sent / seconds, 1) if seconds else None,
                   "protocol": protocol, "threads": threads, "visible": visible})
    return 1 if lost else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SqsError as e:
        # fauxqs answers query-protocol requests with its SNS handler: "InvalidAction".
        sys.exit(f"load_queue.py: {e}")
