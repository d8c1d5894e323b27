#!/usr/bin/env python3
"""An HTTP/1.1 fault proxy for SQS on loopback, between sqs2pg and an SQS emulator.

It reads each request, knows its action (query: the form's `Action=`; JSON: the
`X-Amz-Target` header) and, per action at a set rate drawn from a seeded RNG, injects
one fault instead of a plain forward. Requests and responses that are forwarded are
forwarded byte for byte (SigV4 covers the body and the Host header: sqs2pg signs for
the proxy's host:port and the emulators do not check signatures; moto checks them over
the bytes it receives, which are the bytes sqs2pg signed).

Fault kinds (names used in the counts):

  http_500      500 InternalError, not forwarded
  http_503      503 ServiceUnavailable, not forwarded
  throttle      JSON: 400 ThrottlingException; query: 403 RequestThrottled; not forwarded
  reset_before  the connection is reset (RST) before the request is forwarded
  reset_after   forwarded, the emulator answers, then the client connection is reset:
                the work is done and the answer is lost (the ambiguous delete, the lost
                receive)
  cut_body      forwarded, then the response is sent up to the middle of its body and
                the connection closed
  delay         forwarded, and the answer held until the client gives up (closes) or
                `hold_max` seconds pass: an SQS slower than the client's deadline
  hold_empty    (rule `hold_empty_receives`) an *empty* ReceiveMessage answer held the
                same way, unless `hold_empty_receives` of them are already held: SQS
                slow at the end of a drain, while the last receive to come back empty
                lets the drain decide

Used as a library by run_faults.py (one asyncio loop in a thread), or standalone:

    sqs_proxy.py --upstream http://127.0.0.1:4566 --seed 1 \\
        --rate ReceiveMessage:http_503=0.05 --rate '*:reset_after=0.02'
"""

import argparse
import asyncio
import collections
import json
import random
import socket
import struct
import threading
import time
import urllib.parse
import uuid

KINDS = ("http_500", "http_503", "throttle", "reset_before", "reset_after", "cut_body", "delay")


class ConnClosed(Exception):
    pass


class BufferedConn:
    """A StreamReader with a push-back buffer and the few reads HTTP framing needs."""

    def __init__(self, reader):
        self.reader = reader
        self.buf = bytearray()

    async def _fill(self):
        data = await self.reader.read(65536)
        if not data:
            raise ConnClosed()
        self.buf += data

    async def read_until(self, sep, limit=1 << 20):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out = bytes(self.buf[: i + len(sep)])
                del self.buf[: i + len(sep)]
                return out
            if len(self.buf) > limit:
                raise ConnClosed()
            await self._fill()

    async def read_exact(self, n):
        while len(self.buf) < n:
            await self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def read_to_eof(self):
        try:
            while True:
                await self._fill()
        except ConnClosed:
            pass
        out = bytes(self.buf)
        self.buf.clear()
        return out


class HttpMessage:
    def __init__(self, head, body_raw, headers, start_line):
        self.head = head          # start line + headers + CRLF CRLF, raw
        self.body_raw = body_raw  # the body as framed on the wire (chunked stays chunked)
        self.headers = headers    # lower-case name -> value (last wins)
        self.start_line = start_line

    @property
    def raw(self):
        return self.head + self.body_raw

    def wants_close(self):
        return self.headers.get("connection", "").lower() == "close"


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def read_message(conn, is_response):
    """One HTTP/1.1 message, raw. None when the peer closed before a new message."""
    try:
        head = await conn.read_until(b"\r\n\r\n")
    except ConnClosed:
        if conn.buf:
            raise
        return None
    start, headers = parse_head(head)
    body = bytearray()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = await conn.read_until(b"\r\n")
            body += size_line
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    line = await conn.read_until(b"\r\n")
                    body += line
                    if line == b"\r\n":
                        break
                break
            body += await conn.read_exact(size + 2)
    elif "content-length" in headers:
        body += await conn.read_exact(int(headers["content-length"]))
    elif is_response:
        status = int(start.split()[1])
        if not (100 <= status < 200 or status in (204, 304)):
            body += await conn.read_to_eof()
            headers["connection"] = "close"
    return HttpMessage(head, bytes(body), headers, start)


def action_of(req):
    target = req.headers.get("x-amz-target", "")
    if target:
        return target.rpartition(".")[2] or "?", "json"
    if req.body_raw:
        for name, value in urllib.parse.parse_qsl(req.body_raw.decode("latin-1"), keep_blank_values=True):
            if name == "Action":
                return value, "query"
    return "?", "query"


def is_empty_receive_answer(resp, protocol):
    if not resp.start_line.split()[1].startswith("2"):
        return False
    if protocol == "json":
        return b'"ReceiptHandle"' not in resp.body_raw
    return b"<ReceiptHandle>" not in resp.body_raw


_ERRORS = {
    # kind: (status, reason, JSON __type, x-amzn-query-error or None, query code, fault)
    "http_500": (500, "Internal Server Error", "com.amazonaws.sqs#InternalError", "InternalError;Receiver",
                 "InternalError", "Receiver", "We encountered an internal error. Please try again."),
    "http_503": (503, "Service Unavailable", "com.amazonaws.sqs#ServiceUnavailable", "ServiceUnavailable;Server",
                 "ServiceUnavailable", "Receiver", "Service is unavailable. Try again later."),
}


def error_response(kind, protocol):
    rid = str(uuid.uuid4())
    if kind == "throttle":
        if protocol == "json":
            status, reason = 400, "Bad Request"
            jtype, qerr, message = "com.amazon.coral.availability#ThrottlingException", None, "Rate exceeded"
        else:
            status, reason, code, fault, message = 403, "Forbidden", "RequestThrottled", "Sender", "Rate exceeded"
    else:
        status, reason, jtype, qerr, code, fault, message = _ERRORS[kind]
    if protocol == "json":
        body = json.dumps({"__type": jtype, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", rid)]
        if qerr:
            headers.append(("x-amzn-query-error", qerr))
    else:
        body = ('<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
                f"<Error><Type>{fault}</Type><Code>{code}</Code><Message>{message}</Message><Detail/></Error>"
                f"<RequestId>{rid}</RequestId></ErrorResponse>").encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)]
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def reset(writer):
    """Close with RST (SO_LINGER 0): the peer sees 'connection reset'."""
    try:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


class SqsFaultProxy:
    """rates: {action or '*': {kind: probability}}; per request at most one fault, drawn
    from one uniform number against the cumulative rates (kinds in KINDS order).
    max_faults: {kind: n} stops injecting a kind after n. Counters are read by the
    runner's thread while the loop thread updates them (plain ints under the GIL)."""

    def __init__(self, upstream, seed=1, rates=None, max_faults=None, hold_max=45.0):
        u = urllib.parse.urlsplit(upstream)
        self.up_host, self.up_port = u.hostname, u.port or 80
        self.rng = random.Random(seed)
        self.rates = rates or {}
        self.max_faults = max_faults or {}
        self.hold_max = hold_max
        self.hold_empty_receives = 0  # >0: the slow-end rule, see the module doc
        self.held_now = 0
        self.counts = collections.Counter()         # kind -> injected
        self.by_action = collections.Counter()      # (action, kind) -> injected
        self.requests = collections.Counter()       # action -> requests seen
        self.request_log = []                       # (unix time, action), every request
        self.hold_log = []                          # [start, end] (unix time) of held answers
        self.server = None
        self.port = None

    # --- configuration (any thread) ------------------------------------------------------
    def configure(self, rates=None, max_faults=None, hold_empty_receives=0, seed=None):
        if seed is not None:
            self.rng = random.Random(seed)
        self.rates = rates or {}
        self.max_faults = max_faults or {}
        self.hold_empty_receives = hold_empty_receives
        self.counts.clear()
        self.by_action.clear()
        self.requests.clear()
        self.request_log = []
        self.hold_log = []

    def injected(self):
        return dict(self.counts)

    # --- decisions -----------------------------------------------------------------------
    def decide(self, action):
        table = dict(self.rates.get("*", {}))
        table.update(self.rates.get(action, {}))
        if not table:
            return None
        u = self.rng.random()
        acc = 0.0
        for kind in KINDS:
            acc += table.get(kind, 0.0)
            if u < acc:
                if kind in self.max_faults and self.counts[kind] >= self.max_faults[kind]:
                    return None
                return kind
        return None

    def count(self, action, kind):
        self.counts[kind] += 1
        self.by_action[(action, kind)] += 1

    # --- serving -------------------------------------------------------------------------
    async def start(self, host="127.0.0.1", port=0):
        self.server = await asyncio.start_server(self._client, host, port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self):
        if self.server:
            self.server.close()
            await self.server.wait_closed()

    async def _hold(self, client, writer):
        """Wait until the client closes the connection or hold_max passes. True when the
        client is still there (and the answer should be sent after all)."""
        try:
            data = await asyncio.wait_for(client.reader.read(65536), self.hold_max)
        except asyncio.TimeoutError:
            return True
        except (ConnectionError, OSError):
            return False
        if not data:
            return False
        client.buf += data  # a pipelined request: keep it
        return True

    async def _client(self, reader, writer):
        client = BufferedConn(reader)
        up_reader = up_writer = upstream = None
        try:
            while True:
                req = await read_message(client, is_response=False)
                if req is None:
                    return
                action, protocol = action_of(req)
                self.requests[action] += 1
                self.request_log.append((time.time(), action))
                kind = self.decide(action)
                if kind in ("http_500", "http_503", "throttle"):
                    self.count(action, kind)
                    writer.write(error_response(kind, protocol))
                    await writer.drain()
                    continue
                if kind == "reset_before":
                    self.count(action, kind)
                    reset(writer)
                    return
                if up_writer is None or up_writer.is_closing():
                    up_reader, up_writer = await asyncio.open_connection(self.up_host, self.up_port)
                    upstream = BufferedConn(up_reader)
                up_writer.write(req.raw)
                await up_writer.drain()
                resp = await read_message(upstream, is_response=True)
                if resp is None:
                    reset(writer)
                    return
                if resp.wants_close():
                    up_writer.close()
                    up_writer = None
                if kind == "reset_after":
                    self.count(action, kind)
                    reset(writer)
                    return
                if kind == "cut_body":
                    self.count(action, kind)
                    raw = resp.raw
                    body = len(resp.body_raw)
                    cut = len(resp.head) + body // 2 if body >= 2 else len(resp.head) // 2
                    writer.write(raw[:cut])
                    await writer.drain()
                    writer.close()
                    return
                hold = kind == "delay"
                if (not hold and self.hold_empty_receives and action == "ReceiveMessage"
                        and is_empty_receive_answer(resp, protocol)
                        and self.held_now < self.hold_empty_receives):
                    hold, kind = True, "hold_empty"
                if hold:
                    self.count(action, kind)
                    self.held_now += kind == "hold_empty"
                    interval = [time.time(), None]
                    self.hold_log.append(interval)
                    try:
                        still_there = await self._hold(client, writer)
                    finally:
                        self.held_now -= kind == "hold_empty"
                        interval[1] = time.time()
                    if not still_there:
                        writer.close()
                        return
                writer.write(resp.raw)
                await writer.drain()
                if resp.wants_close() or req.wants_close():
                    writer.close()
                    return
        except (ConnClosed, ConnectionError, OSError, asyncio.IncompleteReadError):
            writer.transport.abort()
        finally:
            if up_writer is not None:
                up_writer.transport.abort()


class LoopThread:
    """One asyncio loop in a daemon thread; run(coro) runs a coroutine on it and waits."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fault-proxies", daemon=True)
        self.thread.start()

    def run(self, coro, timeout=30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def parse_rate(spec, rates):
    # ACTION:KIND=RATE, ACTION may be *
    left, _, value = spec.partition("=")
    action, _, kind = left.partition(":")
    if kind not in KINDS:
        raise argparse.ArgumentTypeError(f"unknown fault kind {kind!r} (one of {', '.join(KINDS)})")
    rates.setdefault(action or "*", {})[kind] = float(value)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--listen-port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", action="append", default=[], help="ACTION:KIND=RATE (ACTION may be *)")
    ap.add_argument("--hold-max", type=float, default=45.0)
    args = ap.parse_args()
    rates = {}
    for spec in args.rate:
        parse_rate(spec, rates)

    async def serve():
        proxy = SqsFaultProxy(args.upstream, args.seed, rates, hold_max=args.hold_max)
        port = await proxy.start(port=args.listen_port)
        print(f"READY http://127.0.0.1:{port}", flush=True)
        try:
            while True:
                await asyncio.sleep(5)
                print(json.dumps({"requests": dict(proxy.requests), "injected": proxy.injected()}), flush=True)
        finally:
            await proxy.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
