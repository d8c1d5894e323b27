"""Helpers for the fault suite: a small signed SQS client (AWS JSON 1.0, stdlib only),
message generation, PostgreSQL checks (psycopg2), sqs2pg child processes."""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import signal
import subprocess
import time
import urllib.parse
import uuid

import psycopg2

# --- SQS ------------------------------------------------------------------------------------


class SqsError(Exception):
    pass


def _sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class SqsAdmin:
    """Blocking AWS JSON 1.0 client for setup and checks, SigV4-signed (moto checks
    signatures; the emulators ignore them). One keep-alive connection."""

    def __init__(self, endpoint, access_key, secret_key, region="us-east-1"):
        u = urllib.parse.urlsplit(endpoint)
        self.host, self.port = u.hostname, u.port or 80
        self.netloc = u.netloc
        self.key, self.secret, self.region = access_key, secret_key, region
        self.conn = None

    def _headers(self, action, body):
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        headers = {
            "content-type": "application/x-amz-json-1.0",
            "host": self.netloc,
            "x-amz-date": amz_date,
            "x-amz-target": f"AmazonSQS.{action}",
        }
        names = sorted(headers)
        canonical = "\n".join([
            "POST", "/", "",
            "".join(f"{n}:{headers[n]}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ])
        scope = f"{day}/{self.region}/sqs/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        k = _sign(("AWS4" + self.secret).encode(), day)
        for part in (self.region, "sqs", "aws4_request"):
            k = _sign(k, part)
        signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.key}/{scope}, "
                                    f"SignedHeaders={';'.join(names)}, Signature={signature}")
        del headers["host"]
        return headers

    def call(self, action, params, timeout=30):
        body = json.dumps(params).encode()
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
                self.conn.request("POST", "/", body=body, headers=self._headers(action, body))
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                time.sleep(0.2)
        if resp.status != 200:
            raise SqsError(f"{action}: HTTP {resp.status}: {data[:300]!r}")
        return json.loads(data) if data.strip() else {}

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def create_queue(self, name, visibility_timeout=30):
        r = self.call("CreateQueue", {"QueueName": name,
                                      "Attributes": {"VisibilityTimeout": str(visibility_timeout)}})
        return r["QueueUrl"]

    def delete_queue(self, url):
        self.call("DeleteQueue", {"QueueUrl": url})

    def send_batch(self, url, bodies):
        """bodies: list of str (<= 10). Returns the MessageIds in the same order."""
        entries = [{"Id": f"m{i}", "MessageBody": b} for i, b in enumerate(bodies)]
        for _ in range(5):
            r = self.call("SendMessageBatch", {"QueueUrl": url, "Entries": entries})
            ok = {e["Id"]: e for e in r.get("Successful") or []}
            for e in entries:
                s = ok.get(e["Id"])
                if s and s.get("MD5OfMessageBody") != hashlib.md5(e["MessageBody"].encode()).hexdigest():
                    raise SqsError("SendMessageBatch: MD5OfMessageBody mismatch")
            if len(ok) == len(entries):
                return [ok[f"m{i}"]["MessageId"] for i in range(len(bodies))]
            if ok:  # never partially: keep the bookkeeping simple
                raise SqsError(f"SendMessageBatch: partial failure {r.get('Failed')}")
            time.sleep(0.2)
        raise SqsError(f"SendMessageBatch failed: {r.get('Failed')}")

    def counts(self, url):
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                 "ApproximateNumberOfMessagesDelayed"]
        r = self.call("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": names})
        a = r.get("Attributes") or {}
        return tuple(int(a.get(n, 0)) for n in names)

    def stable_counts(self, url):
        """Read until two readings agree (counts are computed one after the other)."""
        last = self.counts(url)
        for _ in range(10):
            time.sleep(0.1)
            now = self.counts(url)
            if now == last:
                return now
            last = now
        return last


# --- messages -------------------------------------------------------------------------------

LOCALES = ["ID", "CN", "RU", "FR", "PT", "PH", "BR", "KR", "DE", "US", "MX", "PL", None, None, None]


class Messages:
    """n bodies shaped like the sample's (each valid one with its own user_id) and a
    fixed number of malformed ones, from a seeded RNG."""

    def __init__(self, n, malformed, seed):
        rng = random.Random(seed)
        self.bodies, self.user_ids = [], []
        bad = set(rng.sample(range(n), malformed))
        for i in range(n):
            uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            body = json.dumps({
                "user_id": uid,
                "app_version": f"{rng.randrange(10)}.{rng.randrange(10)}.{rng.randrange(10)}"
                if rng.random() < 0.55 else f"{rng.randrange(10)}.{rng.randrange(10, 100)}",
                "device_type": rng.choice(("android", "ios")),
                "ip": f"{rng.randrange(1, 256)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                "locale": rng.choice(LOCALES),
                "device_id": f"{rng.randrange(1000):03d}-{rng.randrange(100):02d}-{rng.randrange(10000):04d}",
            })
            if i in bad:
                kind = i % 3
                if kind == 0:
                    body = json.dumps({"foo": "oops_wrong_msg_type", "bar": str(i)})
                elif kind == 1:
                    body = body[: len(body) // 2]
                else:
                    body = json.dumps([body])
                uid = None
            self.bodies.append(body)
            self.user_ids.append(uid)
        self.message_ids = [None] * n

    def load(self, sqs, url):
        for i in range(0, len(self.bodies), 10):
            self.message_ids[i:i + 10] = sqs.send_batch(url, self.bodies[i:i + 10])

    @property
    def valid_user_ids(self):
        return {u for u in self.user_ids if u}

    @property
    def valid_message_ids(self):
        return {m for m, u in zip(self.message_ids, self.user_ids) if u}

    @property
    def invalid_message_ids(self):
        return {m for m, u in zip(self.message_ids, self.user_ids) if not u}


# --- PostgreSQL ----------------------------------------------------------------------------


class Db:
    """A psycopg2 connection that reconnects (the suite restarts the server)."""

    def __init__(self, dsn, name):
        self.dsn, self.name = dsn, name
        self.conn = None

    def _connect(self):
        if self.conn is None or self.conn.closed:
            self.conn = psycopg2.connect(self.dsn, application_name=self.name, connect_timeout=5)
            self.conn.autocommit = True

    def query(self, sql, args=None, retries=50):
        for attempt in range(retries):
            try:
                self._connect()
                with self.conn.cursor() as cur:
                    cur.execute(sql, args)
                    return cur.fetchall() if cur.description else None
            except psycopg2.OperationalError:
                self.close()
                if attempt == retries - 1:
                    raise
                time.sleep(0.2)
        return None

    def try_query(self, sql, args=None):
        """One attempt; None when the server is not reachable right now."""
        try:
            return self.query(sql, args, retries=1)
        except psycopg2.Error:
            return None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg2.Error:
                pass
            self.conn = None


def conninfo(url, **extra):
    """key=value conninfo from a postgresql:// URL, with overrides."""
    u = urllib.parse.urlsplit(url)
    kv = {"host": u.hostname, "port": str(u.port or 5432), "user": urllib.parse.unquote(u.username or ""),
          "password": urllib.parse.unquote(u.password or ""), "dbname": u.path.lstrip("/")}
    kv.update({k: str(v) for k, v in extra.items()})

    def quote(v):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return " ".join(f"{k}={quote(v)}" for k, v in kv.items() if v != "")


USER_LOGINS_DDL = """
CREATE TABLE {schema}.user_logins(
    user_id             varchar(128),
    device_type         varchar(32),
    masked_ip           varchar(256),
    masked_device_id    varchar(256),
    locale              varchar(32),
    app_version         integer,
    create_date         date
)"""

SLOW_TRIGGER_DDL = """
CREATE FUNCTION {schema}.slow_commit() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN PERFORM pg_sleep({seconds}); RETURN NULL; END$$;
CREATE TRIGGER slow_commit AFTER INSERT ON {schema}.user_logins
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.slow_commit()"""


# --- processes ------------------------------------------------------------------------------


class Child:
    """One sqs2pg process: stdout and stderr in files, its expected end."""

    def __init__(self, name, argv, env, workdir):
        self.name = name
        self.out_path = os.path.join(workdir, f"{name}.out")
        self.err_path = os.path.join(workdir, f"{name}.err")
        self.expect = 0           # expected exit status; -9 once we kill it
        self.signals = []         # (time, signal name)
        self.started = time.monotonic()
        self.started_wall = time.time()
        self.ended = None
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     start_new_session=True)

    def poll(self):
        rc = self.proc.poll()
        if rc is not None and self.ended is None:
            self.ended = time.monotonic()
        return rc

    def running(self):
        return self.poll() is None

    def signal(self, sig):
        self.signals.append((time.monotonic(), signal.Signals(sig).name))
        if sig == signal.SIGKILL:
            self.expect = -9
        try:
            self.proc.send_signal(sig)
        except ProcessLookupError:
            pass

    def kill_at_limit(self):
        if self.running():
            self.signals.append((time.monotonic(), "SIGKILL (time limit)"))
            self.proc.kill()
            self.proc.wait()
            self.poll()

    def ops_port(self):
        """The --listen port, from the ops.listening log event (None until logged)."""
        if getattr(self, "_port", None) is None:
            for e in self.events():
                if e.get("event") == "ops.listening":
                    self._port = int(e["port"])
                    break
        return getattr(self, "_port", None)

    def readiness(self):
        """GET /readyz: '200 ready', '503 not ready: <reason>', or 'no answer'."""
        port = self.ops_port()
        if port is None or not self.running():
            return None
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/readyz")
            r = conn.getresponse()
            return f"{r.status} {r.read().decode(errors='replace').strip()}"
        except ConnectionRefusedError:
            return None  # the endpoint is closed at shutdown, before the process exits
        except (OSError, http.client.HTTPException):  # a timeout: the loop does not answer
            return None if not self.running() else "no answer"
        finally:
            conn.close()

    def summary(self):
        try:
            with open(self.out_path) as f:
                lines = [ln for ln in f.read().splitlines() if ln.startswith("{")]
            return json.loads(lines[-1]) if lines else None
        except (OSError, ValueError):
            return None

    def events(self):
        out = []
        try:
            with open(self.err_path, errors="replace") as f:
                for line in f:
                    if line.startswith("{"):
                        try:
                            out.append(json.loads(line))
                        except ValueError:
                            pass
        except OSError:
            pass
        return out


def log_time(ts):
    """sqs2pg's `ts` (UTC, ms, ISO 8601 with Z) as a Unix time."""
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
