#!/usr/bin/env python3
"""Checks the emulator facts bench/README.md states, against a running emulator, with
raw HTTP (no SDK), and prints one line per fact: OK/DIFFERS and what was seen.

    eval "$(bench/emulators/start local-aws-sqs)"; bench/emulators/probe.py; bench/emulators/stop

Uses $AWS_ENDPOINT_URL_SQS and $SQS2PG_BENCH_EMULATOR (from start). Takes ~10 s (two
short long polls and a keep-alive idle test)."""

import hashlib
import http.client
import json
import os
import re
import socket
import sys
import time
import urllib.parse
import uuid

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL_SQS", "")
NAME = os.environ.get("SQS2PG_BENCH_EMULATOR", "")
AUTH = ("AWS4-HMAC-SHA256 Credential=nobody/20200101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64)  # never valid: emulators don't check


class Http:
    def __init__(self):
        u = urllib.parse.urlsplit(ENDPOINT)
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(self, path, body, headers):
        self.conn.request("POST", path, body=body, headers={"Authorization": AUTH, **headers})
        r = self.conn.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()

    def json(self, action, params, content_type="application/x-amz-json-1.0"):
        st, h, b = self.post("/", json.dumps(params).encode(),
                             {"Content-Type": content_type, "X-Amz-Target": f"AmazonSQS.{action}"})
        return st, h, b

    def query(self, action, params, path="/"):
        body = urllib.parse.urlencode([("Action", action)] + list(params) + [("Version", "2012-11-05")])
        return self.post(path, body.encode(), {"Content-Type": "application/x-www-form-urlencoded"})


results = []


def fact(name, ok, seen):
    results.append(ok)
    print(f"{'OK     ' if ok else 'DIFFERS'} {name}: {seen}")


def main():
    if not ENDPOINT or NAME not in ("local-aws-sqs", "fauxqs"):
        sys.exit("probe.py: run bench/emulators/start first (needs AWS_ENDPOINT_URL_SQS, SQS2PG_BENCH_EMULATOR)")
    h = Http()
    qname = "probe-" + uuid.uuid4().hex[:8]
    st, _, b = h.json("CreateQueue", {"QueueName": qname})
    url = json.loads(b)["QueueUrl"]
    fact("CreateQueue with a garbage signature succeeds (no signature check)", st == 200, f"HTTP {st}, {url}")
    path = urllib.parse.urlsplit(url).path
    fact("queue URL form", True, url)

    st, _, b = h.json("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0})
    fact("JSON empty receive body", True, f"HTTP {st}, body {b!r}")

    body = 'a&b <tag attr="v"> \r\nline2 \u00e9'
    h.json("SendMessage", {"QueueUrl": url, "MessageBody": body,
                           "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v&<"}}})
    st, _, b = h.json("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 1, "VisibilityTimeout": 0,
                                         "AttributeNames": ["All"], "MessageAttributeNames": ["All"]})
    m = json.loads(b)["Messages"][0]
    fact("JSON receive: attributes for All", True, sorted(m.get("Attributes", {})))
    fact("JSON receive: MD5OfBody is MD5 of the UTF-8 body", m["MD5OfBody"] == hashlib.md5(body.encode()).hexdigest(),
         m["MD5OfBody"])
    fact("JSON receive: receipt handle shape", True, f"{m['ReceiptHandle'][:40]}... ({len(m['ReceiptHandle'])} chars)")

    st, _, b = h.json("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 1, "VisibilityTimeout": 0,
                                         "MessageSystemAttributeNames": ["All"]})
    m = json.loads(b)["Messages"][0]
    fact("JSON receive: attributes for MessageSystemAttributeNames=All (the newer name)", True,
         sorted(m.get("Attributes", {})) or "none")
    st, _, b = h.json("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 1, "VisibilityTimeout": 30})
    handle = json.loads(b)["Messages"][0]["ReceiptHandle"]
    st, _, b = h.json("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]})
    a = json.loads(b)["Attributes"]
    h.json("ChangeMessageVisibility", {"QueueUrl": url, "ReceiptHandle": handle, "VisibilityTimeout": 0})
    fact("GetQueueAttributes with 1 message, in flight: (visible) counts it too on local-aws-sqs",
         True, {k[len("ApproximateNumberOfMessages"):] or "(visible)": a.get(k)
                for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                          "ApproximateNumberOfMessagesDelayed")})

    if NAME == "local-aws-sqs":
        st, _, b = h.query("ReceiveMessage", [("QueueUrl", url), ("MaxNumberOfMessages", "1"),
                                              ("VisibilityTimeout", "0"), ("AttributeName.1", "All"),
                                              ("MessageAttributeName.1", "All")])
        text = b.decode()
        raw_body = re.search(r"<Body>(.*?)</Body>", text, re.S)
        fact("query receive: body text NOT XML-escaped (only \" -> &quot;), CR sent raw",
             raw_body is not None and "a&b <tag" in raw_body.group(1) and "\r" in raw_body.group(1),
             repr(raw_body.group(1) if raw_body else text[:200]))
        fact("query receive: namespace on the root", 'xmlns="http://queue.amazonaws.com/doc/2012-11-05/"' in text,
             text.split("\n")[1].strip()[:90])
        st, _, b = h.query("ReceiveMessage", [("MaxNumberOfMessages", "1")], path=path)
        fact("query: QueueUrl is read from the form only (POST to the queue path without it fails)",
             st == 400 and b"NonExistentQueue" in b, f"HTTP {st}, {re.search(rb'<Code>(.*?)</Code>', b).group(1).decode()}")
        st, _, b = h.json("ListQueues", {}, content_type="application/x-amz-json-1.0; charset=utf-8")
        fact("JSON needs Content-Type exactly application/x-amz-json-1.0 (a parameter makes it query)",
             st != 200 or not b.startswith(b"{"), f"HTTP {st}, {b[:60]!r}")
        # OverLimit: MaxNumberOfMessages arrives as a string on the query protocol, so
        # "10" + visible is string concatenation compared with 120000.
        entries = [(f"SendMessageBatchRequestEntry.{i}.{k}", v) for i in range(1, 11)
                   for k, v in (("Id", f"e{i}"), ("MessageBody", "x"))]
        t0 = time.monotonic()
        st, _, b = h.query("ReceiveMessage", [("QueueUrl", url), ("MaxNumberOfMessages", "10"),
                                              ("WaitTimeSeconds", "2")])
        n = b.count(b"<Message>")
        fact("partial batch: a long poll with fewer messages than asked waits out WaitTimeSeconds",
             time.monotonic() - t0 >= 1.9, f"{n} message(s) after {time.monotonic() - t0:.2f} s (WaitTimeSeconds 2)")
        h.query("SendMessageBatch", [("QueueUrl", url)] + entries)
        t0 = time.monotonic()
        h.query("ReceiveMessage", [("QueueUrl", url), ("MaxNumberOfMessages", "10"), ("VisibilityTimeout", "0")])
        fact("a ReceiveMessage with messages ready takes >= 10 ms (10 ms polling interval)",
             time.monotonic() - t0 >= 0.009, f"{(time.monotonic() - t0) * 1e3:.1f} ms")
        st, _, b = h.query("DeleteMessageBatch", [("QueueUrl", url),
                                                  ("DeleteMessageBatchRequestEntry.1.Id", "bad"),
                                                  ("DeleteMessageBatchRequestEntry.1.ReceiptHandle", "garbage")])
        fact("DeleteMessageBatch bad handle: HTTP 200 + BatchResultErrorEntry",
             st == 200 and b"BatchResultErrorEntry" in b,
             f"HTTP {st}, {re.search(rb'<Code>(.*?)</Code>', b).group(1).decode() if b'<Code>' in b else b[:80]}")
    else:
        st, _, b = h.query("GetQueueUrl", [("QueueName", qname)])
        fact("query protocol is not SQS (form bodies go to the SNS handler)", st != 200, f"HTTP {st}, {b[:100]!r}")
        st, _, b = h.json("DeleteMessageBatch", {"QueueUrl": url, "Entries": [{"Id": "bad", "ReceiptHandle": "garbage"}]})
        fact("DeleteMessageBatch bad handle: reported as Successful", b'"Successful":[{"Id":"bad"}]' in b, b[:100])
        other = url.replace("127.0.0.1", "localhost")
        st, hd, b = h.json("GetQueueAttributes", {"QueueUrl": other, "AttributeNames": ["All"]})
        fact("queue looked up by the exact URL string (localhost for 127.0.0.1 fails)", st == 400,
             f"HTTP {st}, {b[:70]!r}, x-amzn-query-error: {hd.get('x-amzn-query-error')}")
        t0 = time.monotonic()
        h.json("SendMessage", {"QueueUrl": url, "MessageBody": "x"})
        st, _, b = h.json("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 2})
        fact("long poll returns as soon as any message is there", time.monotonic() - t0 < 1,
             f"{b.count(b'MessageId')} message(s) after {time.monotonic() - t0:.2f} s")

    st, _, b = h.json("SendMessage", {"QueueUrl": url, "MessageBody": "x" * 1048576})
    fact("SendMessage of a 1 MiB body accepted", st == 200, f"HTTP {st}")
    st, _, b = h.json("SendMessage", {"QueueUrl": url, "MessageBody": "x" * 1048577})
    fact("SendMessage of 1 MiB + 1 refused", st != 200, f"HTTP {st} {b[:90]!r}")

    # Keep-alive: how long an idle connection stays open.
    s = socket.create_connection((h.host, h.port))
    req = (f"POST / HTTP/1.1\r\nHost: {h.host}:{h.port}\r\nContent-Type: application/x-amz-json-1.0\r\n"
           f"X-Amz-Target: AmazonSQS.ListQueues\r\nContent-Length: 2\r\n\r\n{{}}").encode()
    s.sendall(req)
    s.recv(65536)
    s.settimeout(7)
    t0 = time.monotonic()
    try:
        closed = s.recv(1) == b""
    except socket.timeout:
        closed = False
    fact("idle keep-alive connection closed by the server after", True,
         f"{time.monotonic() - t0:.1f} s" if closed else "> 7 s (still open)")
    s.close()
    h.conn.close()  # idle for 7 s: local-aws-sqs has closed it (a client must reconnect)
    h.json("DeleteQueue", {"QueueUrl": url})
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
