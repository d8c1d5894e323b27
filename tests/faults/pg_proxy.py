#!/usr/bin/env python3
"""A PostgreSQL wire-protocol proxy on loopback that injects two faults into the
sessions passing through it (sqs2pg connects to it with --pg host=127.0.0.1 port=P).

- lost_commit: both directions are read message by message. Once a session is
  established (its first ReadyForQuery), each Sync (or simple Query) of the client
  opens a group, and the server's answers to it are held until its ReadyForQuery. A
  group whose Binds name a prepared statement (sqs2pg's batches use its two named
  statements; the startup checks and ledger pruning use unnamed ones), whose answers
  hold a CommandComplete of SELECT/INSERT and no ErrorResponse, and that ends in
  ReadyForQuery status 'I' is a committed batch. At a set rate (seeded) its answers are
  dropped and both sides closed: the transaction committed, the client never hears it.
- blackhole(): every session open at that moment goes silent for good: nothing more is
  forwarded either way and the server side is closed (its backend rolls back what has no
  Sync yet, and so holds no locks), while the client's side stays open and unanswered,
  as after a failover or a middlebox dropping the flow. Sessions opened later work.

SSLRequest / GSSENCRequest are forwarded; if the server accepts one, that session is
passed through untouched (no parsing, no faults). sqs2pg is given sslmode=disable.
"""

import asyncio
import collections
import random
import struct

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102


class Session:
    def __init__(self):
        self.blackholed = False
        self.closers = []
        # One entry per Sync / Query the client sent, in order: did it bind a named
        # (prepared) statement? The server answers them in the same order.
        self.groups = collections.deque()


class PgFaultProxy:
    def __init__(self, up_host, up_port, seed=1):
        self.up_host, self.up_port = up_host, up_port
        self.rng = random.Random(seed)
        self.lost_commit_rate = 0.0
        self.lost_commit_max = 0
        self.counts = collections.Counter()
        self.committed_groups = 0
        self.sessions = set()
        self.server = None
        self.port = None

    def configure(self, lost_commit_rate=0.0, lost_commit_max=0, seed=None):
        if seed is not None:
            self.rng = random.Random(seed)
        self.lost_commit_rate = lost_commit_rate
        self.lost_commit_max = lost_commit_max
        self.counts.clear()
        self.committed_groups = 0

    def injected(self):
        return dict(self.counts)

    def blackhole(self):
        """Call on the proxy's loop. Returns how many sessions went silent."""
        n = 0
        for s in list(self.sessions):
            if not s.blackholed:
                s.blackholed = True
                n += 1
                for close in s.closers:
                    close()
        self.counts["pg_blackhole"] += n
        return n

    async def start(self, host="127.0.0.1", port=0):
        self.server = await asyncio.start_server(self._client, host, port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self):
        if self.server:
            self.server.close()
            await self.server.wait_closed()
        for s in list(self.sessions):
            for close in s.closers:
                close()

    async def _client(self, c_reader, c_writer):
        try:
            s_reader, s_writer = await asyncio.open_connection(self.up_host, self.up_port)
        except OSError:
            c_writer.transport.abort()
            return
        session = Session()
        self.sessions.add(session)
        # On blackhole: the server side goes away at once, the client side stays open.
        session.closers.append(s_writer.transport.abort)
        try:
            passthrough = False
            while True:  # startup: untyped messages
                head = await c_reader.readexactly(8)
                length, code = struct.unpack("!ii", head)
                rest = await c_reader.readexactly(length - 8)
                s_writer.write(head + rest)
                await s_writer.drain()
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    answer = await s_reader.readexactly(1)
                    c_writer.write(answer)
                    await c_writer.drain()
                    if answer in (b"S", b"G"):
                        passthrough = True
                        break
                    continue
                if code == CANCEL_REQUEST:
                    passthrough = True
                break
            if passthrough:
                up = asyncio.ensure_future(self._pump_raw(c_reader, s_writer, session))
                down = asyncio.ensure_future(self._pump_raw(s_reader, c_writer, session))
            else:
                up = asyncio.ensure_future(self._pump_requests(c_reader, s_writer, session))
                down = asyncio.ensure_future(self._pump_answers(s_reader, c_writer, s_writer, session))
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            for t in (up, down):
                t.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            if session.blackholed:
                # Silent: swallow what the client still sends until it gives up.
                await self._swallow(c_reader)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.sessions.discard(session)
            c_writer.transport.abort()
            s_writer.transport.abort()

    async def _swallow(self, reader):
        try:
            while await reader.read(65536):
                pass
        except (ConnectionError, OSError):
            pass

    async def _pump_raw(self, reader, writer, session):
        try:
            while True:
                data = await reader.read(65536)
                if not data or session.blackholed:
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return

    async def _pump_requests(self, c_reader, s_writer, session):
        named_bind = False
        try:
            while True:
                head = await c_reader.readexactly(5)
                body = await c_reader.readexactly(struct.unpack("!i", head[1:])[0] - 4)
                if session.blackholed:
                    return
                mtype = head[:1]
                if mtype == b"B":
                    statement = body[body.index(b"\0") + 1:]  # after the portal name
                    named_bind |= not statement.startswith(b"\0")
                elif mtype == b"S":
                    session.groups.append(named_bind)
                    named_bind = False
                elif mtype == b"Q":
                    session.groups.append(False)
                s_writer.write(head + body)
                await s_writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return

    async def _pump_answers(self, s_reader, c_writer, s_writer, session):
        established = False
        group = []
        types = set()
        tags_ok = False
        try:
            while True:
                head = await s_reader.readexactly(5)
                mtype = head[:1]
                length = struct.unpack("!i", head[1:])[0]
                body = await s_reader.readexactly(length - 4)
                if session.blackholed:
                    return
                msg = head + body
                if not established:
                    c_writer.write(msg)
                    await c_writer.drain()
                    if mtype == b"Z":
                        established = True
                    continue
                group.append(msg)
                types.add(mtype)
                if mtype == b"C" and (body.startswith(b"SELECT") or body.startswith(b"INSERT")):
                    tags_ok = True
                if mtype != b"Z":
                    continue
                named = session.groups.popleft() if session.groups else False
                committed_write = named and tags_ok and b"E" not in types and body[:1] == b"I"
                if committed_write:
                    self.committed_groups += 1
                if (committed_write and self.lost_commit_rate > 0
                        and self.counts["pg_lost_commit"] < self.lost_commit_max
                        and self.rng.random() < self.lost_commit_rate):
                    self.counts["pg_lost_commit"] += 1
                    s_writer.transport.abort()
                    c_writer.transport.abort()
                    return
                c_writer.write(b"".join(group))
                await c_writer.drain()
                group, types, tags_ok = [], set(), False
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return
