#!/usr/bin/env python3
"""The fault-injection suite: runs the sqs2pg binary in drain mode against SQS emulators
(fauxqs: JSON; local-aws-sqs: query; moto: query with signature checks) behind an HTTP
fault proxy, and against a PostgreSQL that is terminated, restarted, frozen or loses
commit answers; several processes on one queue are killed and scaled in. Each
scenario checks: every valid message exactly one row (0 missing, 0 duplicated, no
stray row), every malformed one exactly one reject, the queue empty (visible, in
flight, delayed), the exit statuses, and the wall time against a bound (3x the
fault-free baseline of the same profile + 30 s + the fault's own allowance). It ends
with a table and one JSON figure line. Exit 0 only when every scenario passed.

Needs the services tests/run starts (SQS2PG_TEST_* variables: PostgreSQL, moto,
scripts/services), bench/node_modules (scripts/install-deps runs npm ci), the binary in
SQS2PG_E2E_BINARY (or --binary). Anything missing or unreachable is a failure, never a
skip. See docs/faults.md.

    tests/faults/run_faults.py [--only a,b] [--exclude c] [--list] [--keep]
"""

import argparse
import collections
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

try:
    import psycopg2  # noqa: F401  (Debian's python3-psycopg2; scripts/install-deps installs it)
except ImportError:
    print("faults: FAIL: psycopg2 is missing (apt-get install python3-psycopg2, or run scripts/install-deps)",
          file=sys.stderr)
    sys.exit(1)

import faultlib  # noqa: E402
from faultlib import Child, Db, Messages, SqsAdmin  # noqa: E402
from pg_proxy import PgFaultProxy  # noqa: E402
from sqs_proxy import LoopThread, SqsFaultProxy  # noqa: E402

SEED = 20240611
REGION = "us-east-1"
GRACE = 30          # sqs2pg's shutdown grace period (docs/flow.md)
BOUND_FACTOR = 3
BOUND_CONSTANT = 30

# --- profiles and scenarios ----------------------------------------------------------------
# A profile is a workload: which SQS, how many messages, how sqs2pg runs. Each profile's
# fault-free baseline (through the same proxy, with no fault configured) runs first and
# sets the time bound of the profile's scenarios.

PROFILES = {
    "fauxqs-json": dict(emulator="fauxqs", protocol="json", messages=3000, malformed=30, proxy=True),
    "local-query": dict(emulator="local-aws-sqs", protocol="query", messages=2000, malformed=20, proxy=True),
    "moto-query": dict(emulator="moto", protocol="query", messages=600, malformed=6, proxy=True),
    # A PostgreSQL that takes 50 ms per batch (a statement trigger sleeps), batches of 25:
    # every run lasts a few seconds with a transaction open most of the time, so the
    # faults land mid-run and mid-transaction.
    "slow-pg": dict(emulator="fauxqs", protocol="json", messages=2000, malformed=20, proxy=False,
                    slow_ms=50, args=["--batch-size", "25"]),
    # Four processes on one queue, 100 ms per batch each.
    "scale": dict(emulator="fauxqs", protocol="json", messages=6000, malformed=60, proxy=False,
                  slow_ms=100, processes=4, args=["--batch-size", "25"]),
}

ALL_ACTIONS = "*"


@dataclasses.dataclass
class Scenario:
    name: str
    profile: str
    injects: str
    rates: dict = None            # SQS proxy: {action: {kind: rate}}
    max_faults: dict = None       # SQS proxy: {kind: n}
    hold_empty: int = 0           # SQS proxy: the slow-end rule
    pg_proxy: bool = False
    lost_commit: tuple = None     # (rate, max)
    act: str = None               # a choreography method of Run (act_<name>)
    allowance: float = 0.0        # seconds the fault itself costs, on top of the bound
    visibility: int = None        # --visibility-timeout
    extra_checks: str = ""
    baseline: bool = False
    expect_skipped: bool = False  # the fault must show as duplicates skipped by the ledger


def errors(rate):
    return {ALL_ACTIONS: {"http_500": rate, "http_503": rate, "throttle": rate}}


def connection_faults(rate):
    return {ALL_ACTIONS: {"reset_before": rate, "reset_after": rate, "cut_body": rate}}


SCENARIOS = [
    Scenario("baseline-fauxqs-json", "fauxqs-json", "nothing (fault-free baseline, through the proxy)",
             baseline=True),
    Scenario("baseline-local-query", "local-query", "nothing (fault-free baseline, through the proxy)",
             baseline=True),
    Scenario("baseline-moto-query", "moto-query", "nothing (fault-free baseline, through the proxy)",
             baseline=True),
    Scenario("baseline-slow-pg", "slow-pg", "nothing (fault-free baseline)", baseline=True),
    Scenario("baseline-scale", "scale", "nothing (fault-free baseline, 4 processes)", baseline=True),

    Scenario("sqs-errors-json", "fauxqs-json",
             "500 InternalError, 503 ServiceUnavailable, 400 ThrottlingException, 4% each on every action",
             rates=errors(0.04)),
    Scenario("sqs-errors-query", "local-query",
             "500 InternalError, 503 ServiceUnavailable, 403 RequestThrottled, 4% each on every action",
             rates=errors(0.04)),
    Scenario("sqs-connection-json", "fauxqs-json",
             "reset before forwarding, reset after forwarding (lost receive, ambiguous delete), "
             "response cut mid-body: 3% each on every action",
             rates=connection_faults(0.03), visibility=5, allowance=10),
    Scenario("sqs-connection-query", "local-query",
             "reset before / after forwarding, response cut mid-body: 3% each on every action",
             rates=connection_faults(0.03), visibility=5, allowance=10),
    Scenario("sqs-deadline-json", "fauxqs-json",
             "ReceiveMessage and DeleteMessageBatch answered past the client's deadline "
             "(forwarded, answer held until the client gives up): 3% each, at most 3",
             rates={"ReceiveMessage": {"delay": 0.03}, "DeleteMessageBatch": {"delay": 0.03}},
             max_faults={"delay": 3}, visibility=10, allowance=45),
    Scenario("sqs-moto-query", "moto-query",
             "moto with SigV4 checks through the proxy: 503, throttling, reset after forwarding, 3% each",
             rates={ALL_ACTIONS: {"http_503": 0.03, "throttle": 0.03, "reset_after": 0.03}},
             visibility=5, allowance=10),
    Scenario("sqs-slow-drain-end", "fauxqs-json",
             "empty ReceiveMessage answers held past the client's deadline (all but one receiver), "
             "so receives are outstanding when the drain stops",
             hold_empty=3, allowance=25,
             extra_checks="no ReceiveMessage reaches the proxy after pipeline.stopping, no sqs_retry of "
                          "ReceiveMessage logged after it"),

    Scenario("pg-terminate", "slow-pg",
             "pg_terminate_backend of sqs2pg's session while its transaction is open, 5 times",
             act="terminate", allowance=10),
    Scenario("pg-restart", "slow-pg", "PostgreSQL fast restart (scripts/services pg-restart) at 30% of the rows",
             act="restart", allowance=15),
    Scenario("pg-freeze-sigstop", "slow-pg",
             "sqs2pg's backend process SIGSTOPped for 10 s at 30% of the rows, then SIGCONT",
             act="sigstop", allowance=15),
    Scenario("pg-freeze-blackhole", "slow-pg",
             "at 30% of the rows sqs2pg's open PostgreSQL connection goes silent for good (a proxy stops "
             "forwarding and never closes it; the server side is dropped); new connections work",
             pg_proxy=True, act="blackhole", allowance=60),
    Scenario("pg-lost-commit", "slow-pg",
             "a committed batch's answer (after ReadyForQuery) dropped and the connection closed: 25%, at most 4",
             pg_proxy=True, lost_commit=(0.25, 4), allowance=10, expect_skipped=True,
             extra_checks="the rewritten batches are skipped as duplicates (summary duplicates_skipped > 0)"),

    Scenario("scale-in", "scale",
             "4 processes on one queue: kill -9 one at 15% of the rows (restarted 2 s later), "
             "SIGTERM two at 30%",
             act="scale_in", allowance=15,
             extra_checks="SIGTERMed processes exit 0 within the grace period, having deleted or handed "
                          "back everything they received"),
]


# --- environment ----------------------------------------------------------------------------

class SetupError(Exception):
    pass


def need_env(name):
    v = os.environ.get(name)
    if not v:
        raise SetupError(f"{name} is not set: run the suite through tests/run (or export the services' "
                         "settings: eval \"$(scripts/services start)\")")
    return v


def start_emulator(name):
    script = os.path.join(ROOT, "bench", "emulators", "start")
    r = subprocess.run([script, name], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise SetupError(f"bench/emulators/start {name} failed:\n{r.stderr.strip()}")
    env = {}
    for line in r.stdout.splitlines():
        if line.startswith("export "):
            for part in line[len("export "):].split(" "):
                k, _, v = part.partition("=")
                env[k] = v.strip('"')
    return {"pid": int(env["SQS2PG_BENCH_EMULATOR_PID"]), "endpoint": env["AWS_ENDPOINT_URL_SQS"],
            "key": env["AWS_ACCESS_KEY_ID"], "secret": env["AWS_SECRET_ACCESS_KEY"]}


def stop_emulator(pid):
    subprocess.run([os.path.join(ROOT, "bench", "emulators", "stop"), str(pid)],
                   capture_output=True, timeout=30)


# --- one scenario run ------------------------------------------------------------------------

class Run:
    """A scenario in progress: its queue, schema, processes and the faults done here."""

    def __init__(self, suite, sc, prof):
        self.suite, self.sc, self.prof = suite, sc, prof
        self.schema = "faults_" + sc.name.replace("-", "_")
        self.workdir = os.path.join(suite.workdir, sc.name)
        os.makedirs(self.workdir, exist_ok=True)
        self.children = []
        self.faults = collections.Counter()
        self.notes = []
        self.t0 = None
        self.limit = None
        self.backend = suite.backends[prof["emulator"]]

    # -- setup --
    def prepare(self):
        s = self.suite
        s.db.query(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        s.db.query(f"CREATE SCHEMA {self.schema}")
        if self.prof.get("slow_ms"):
            s.db.query(faultlib.USER_LOGINS_DDL.format(schema=self.schema))
            s.db.query(faultlib.SLOW_TRIGGER_DDL.format(schema=self.schema, seconds=self.prof["slow_ms"] / 1000))
        b = self.backend
        self.queue_name = f"faults-{self.sc.name}-{int(time.time() * 1000) % 10**9}"
        self.queue_url = b["admin"].create_queue(self.queue_name)
        self.messages = Messages(self.prof["messages"], self.prof["malformed"],
                                 seed=zlib.crc32(f"{SEED}/{self.sc.name}".encode()))
        t = time.monotonic()
        self.messages.load(b["admin"], self.queue_url)
        self.load_seconds = time.monotonic() - t
        if b["admin"].stable_counts(self.queue_url)[0] != self.prof["messages"]:
            raise SetupError(f"the queue does not hold the {self.prof['messages']} messages sent")
        # Faults are configured after loading (the loader talks to the emulator directly);
        # a profile without the proxy gets an empty configuration (nothing counted).
        if b.get("proxy"):
            b["proxy"].configure(rates=self.sc.rates, max_faults=self.sc.max_faults,
                                 hold_empty_receives=self.sc.hold_empty, seed=SEED)
        if self.sc.pg_proxy:
            rate, most = self.sc.lost_commit or (0.0, 0)
            s.pg_proxy.configure(lost_commit_rate=rate, lost_commit_max=most, seed=SEED)

    def pg_conninfo(self, proc_name):
        app = f"faults-{self.sc.name}-{proc_name}"[:63]
        if self.sc.pg_proxy:
            return faultlib.conninfo(self.suite.pg_url, host="127.0.0.1", port=self.suite.pg_proxy.port,
                                     sslmode="disable", application_name=app)
        return faultlib.conninfo(self.suite.pg_url, application_name=app)

    def start(self, name, visibility=None):
        b = self.backend
        args = [self.suite.binary, "--drain", "--queue-url", self.queue_url,
                "--endpoint-url", b["client_endpoint"], "--region", REGION,
                "--sqs-protocol", self.prof["protocol"], "--pg", self.pg_conninfo(name),
                "--table", f"{self.schema}.user_logins", "--mask-key-file", self.suite.key_file,
                "--log-format", "json", "--log-level", "info", "--receivers", "4",
                "--listen", "127.0.0.1:0"]
        vis = visibility or self.sc.visibility
        if vis:
            args += ["--visibility-timeout", str(vis)]
        args += self.prof.get("args", [])
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": self.workdir,
            "AWS_CONFIG_FILE": os.path.join(self.workdir, "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.workdir, "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": b["key"], "AWS_SECRET_ACCESS_KEY": b["secret"],
        }
        c = Child(name, args, env, self.workdir)
        self.children.append(c)
        self.suite.children.append(c)
        return c

    # -- progress --
    def rows(self):
        r = self.suite.db.try_query(f"SELECT count(*) FROM {self.schema}.user_logins")
        return r[0][0] if r else None

    def valid_count(self):
        return len(self.messages.valid_user_ids)

    def any_running(self):
        return any(c.running() for c in self.children)

    def time_left(self):
        return self.limit - time.monotonic()

    def wait_rows(self, fraction):
        """Until `fraction` of the valid rows are committed. False if every process ended
        or the time limit came first."""
        target = fraction * self.valid_count()
        while self.time_left() > 0:
            n = self.rows()
            if n is not None and n >= target:
                return True
            if not self.any_running():
                return False
            time.sleep(0.05)
        return False

    # -- choreographies (act_<name>) --
    def act_terminate(self):
        admin = self.suite.admin_db
        app = f"faults-{self.sc.name}-%"
        if not self.wait_rows(0.1):
            return
        while self.faults["pg_terminate"] < 5 and self.any_running() and self.time_left() > 0:
            r = admin.try_query(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name LIKE %s AND xact_start IS NOT NULL AND state <> 'idle'", (app,))
            if r and r[0][0]:
                self.faults["pg_terminate"] += r[0][0]
                time.sleep(0.4)  # let it reconnect and write a little
            else:
                time.sleep(0.02)

    def act_restart(self):
        if not self.wait_rows(0.3):
            return
        services = faultlib_services()
        r = subprocess.run([services, "pg-restart"], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            self.notes.append(f"pg-restart failed: {r.stderr.strip()[-300:]}")
        else:
            self.faults["pg_restart"] += 1

    def act_sigstop(self):
        if not self.wait_rows(0.3):
            return
        rows = self.suite.admin_db.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s", (f"faults-{self.sc.name}-%",))
        pids = [r[0] for r in rows or []]
        if not pids:
            self.notes.append("no backend of sqs2pg found to freeze")
            return
        stopped = []
        try:
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
            self.faults["pg_sigstop"] += len(stopped)
            time.sleep(10)
        finally:
            for pid in stopped:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass

    def act_blackhole(self):
        if not self.wait_rows(0.3):
            return
        proxy = self.suite.pg_proxy

        async def go():
            return proxy.blackhole()
        n = self.suite.loop.run(go())
        if not n:
            self.notes.append("no open PostgreSQL session to blackhole")

    def act_scale_in(self):
        a, b, c, d = self.children
        if not self.wait_rows(0.15):
            return
        c.signal(signal.SIGKILL)
        self.faults["kill_9"] += 1
        time.sleep(2)
        self.start("c2", visibility=5)
        if not self.wait_rows(0.30):
            return
        for p in (a, b):
            p.signal(signal.SIGTERM)
            self.faults["sigterm"] += 1

    # -- the run --
    def execute(self, bound):
        self.bound = bound
        n = self.prof.get("processes", 1)
        self.t0 = time.monotonic()
        # Kill everything that is still running this long after the start: the bound plus
        # time to see whether it would have finished at all.
        self.limit = self.t0 + (bound + 30 if bound else 300)
        if n == 1:
            self.start("sqs2pg")
        else:
            for i in range(n):
                name = "abcdefgh"[i]
                # Scale-in: the processes that get SIGTERM (a, b) and the survivor (d) take
                # 300 s, far beyond the bound, so anything they leave invisible breaks it;
                # c is the one killed with -9 and takes 5 s, so its messages come back in time.
                self.start(name, visibility=5 if name == "c" else 300)
        sampling = threading.Event()
        sampler = threading.Thread(target=self.sample_readiness, args=(sampling,), daemon=True)
        sampler.start()
        try:
            if self.sc.act:
                try:
                    getattr(self, "act_" + self.sc.act)()
                except Exception:  # a broken choreography is a failed scenario, not a crash
                    self.notes.append("choreography failed: " + traceback.format_exc(limit=3).strip())
            while self.any_running() and time.monotonic() < self.limit:
                time.sleep(0.05)
        finally:
            sampling.set()
            sampler.join(5)
        for c in self.children:
            c.kill_at_limit()
        ends = [c.ended for c in self.children if c.ended is not None]
        self.seconds = (max(ends) if ends else time.monotonic()) - self.t0

    def sample_readiness(self, done):
        """What an orchestrator's readiness probe sees: /readyz of every running process,
        four times a second; each change is kept with its time since the start."""
        self.readiness = []
        last = {}
        while not done.wait(0.25):
            for c in list(self.children):
                state = c.readiness()
                if state and state != last.get(c.name):
                    last[c.name] = state
                    t = round(time.monotonic() - self.t0, 1)
                    short = state.replace("not ready: ", "")
                    self.readiness.append(f"{c.name if len(self.children) > 1 else ''}+{t}s {short}".strip())

    # -- checks --
    def check(self):
        problems = []
        db = self.suite.db
        msgs = self.messages
        valid_users = msgs.valid_user_ids

        def select(table, sql):  # a table sqs2pg never created holds nothing
            if not db.query("SELECT to_regclass(%s)", (f"{self.schema}.{table}",))[0][0]:
                problems.append(f"table {self.schema}.{table} does not exist")
                return []
            return db.query(sql.format(t=f"{self.schema}.{table}"))
        rows = select("user_logins", "SELECT user_id, count(*) FROM {t} GROUP BY user_id")
        found = {u: n for u, n in rows}
        missing = len(valid_users - found.keys())
        duplicated = sum(n - 1 for n in found.values() if n > 1)
        stray = len(found.keys() - valid_users)
        rejects = {r[0] for r in select("sqs2pg_rejects", "SELECT message_id FROM {t}")}
        ledger = {r[0] for r in select("sqs2pg_ledger", "SELECT message_id FROM {t}")}
        missing_rejects = len(msgs.invalid_message_ids - rejects)
        stray_rejects = len(rejects - msgs.invalid_message_ids)
        missing_ledger = len(msgs.valid_message_ids - ledger)
        self.missing, self.duplicated = missing, duplicated
        if missing:
            problems.append(f"{missing} valid messages have no row")
        if duplicated:
            problems.append(f"{duplicated} duplicated rows")
        if stray:
            problems.append(f"{stray} rows for user ids never sent")
        if missing_rejects:
            problems.append(f"{missing_rejects} malformed messages have no reject record")
        if stray_rejects:
            problems.append(f"{stray_rejects} reject records for valid messages")
        if missing_ledger and not missing:
            problems.append(f"{missing_ledger} valid messages missing from the ledger")
        try:
            counts = self.backend["admin"].stable_counts(self.queue_url)
        except Exception as e:  # noqa: BLE001
            counts = None
            problems.append(f"queue attributes unreadable: {e}")
        self.queue_left = counts
        if counts and any(counts):
            problems.append("queue not empty (visible, in flight, delayed) = %s" % (counts,))

        self.statuses = []
        for c in self.children:
            rc = c.proc.returncode
            self.statuses.append(f"{c.name}:{rc}")
            if any(s.startswith("SIGKILL (time limit)") for _, s in c.signals):
                problems.append(f"{c.name} still running {c.ended - c.started:.0f} s after its start: killed")
                continue
            if rc != c.expect:
                problems.append(f"{c.name} exited {rc}, expected {c.expect}")
            if rc in (0, 1) and c.summary() is None:
                problems.append(f"{c.name} printed no summary line")
            terms = [t for t, s in c.signals if s == "SIGTERM"]
            if terms:
                took = c.ended - terms[0]
                if took > GRACE:
                    problems.append(f"{c.name} took {took:.1f} s after SIGTERM (grace {GRACE} s)")
                s = c.summary() or {}
                got = s.get("received", 0)
                gone = s.get("deleted", 0) + s.get("released", 0)
                if got != gone:
                    problems.append(f"{c.name} received {got} but deleted + handed back {gone} "
                                    "(the rest stays invisible for its visibility timeout)")
        if self.bound and self.seconds > self.bound:
            problems.append(f"took {self.seconds:.1f} s, bound {self.bound:.1f} s")
        if self.sc.hold_empty:
            problems += self.check_no_receive_after_stop()
        if self.sc.expect_skipped and self.totals("duplicates_skipped") == 0 and self.injected():
            problems.append("a committed batch whose answer was lost was not reported as duplicates "
                            "when written again (duplicates_skipped 0)")
        if not self.sc.baseline and not self.injected():
            problems.append("no fault was injected (the scenario proved nothing)")
        problems += self.notes
        return problems

    def check_no_receive_after_stop(self):
        out = []
        c = self.children[0]
        ev = c.events()
        stops = [faultlib.log_time(e["ts"]) for e in ev if e.get("event") == "pipeline.stopping"]
        if not stops:
            return ["no pipeline.stopping event logged"]
        stop = stops[0]
        proxy = self.backend["proxy"]
        if not any(start < stop and (end is None or end > stop) for start, end in proxy.hold_log):
            # The drain stopped while no receive was held: this run did not test the case.
            out.append("inconclusive: no ReceiveMessage answer was being held when the drain stopped")
        # A request that left before the stop reaches the proxy within milliseconds.
        late = [t for t, a in proxy.request_log if a == "ReceiveMessage" and t > stop + 0.2]
        retries = [e for e in ev if e.get("event") == "sqs_retry" and e.get("action") == "ReceiveMessage"
                   and faultlib.log_time(e["ts"]) > stop]
        if late:
            out.append(f"{len(late)} ReceiveMessage requests reached SQS after the stop request "
                       f"(first {late[0] - stop:.1f} s after it)")
        if retries:
            out.append(f"{len(retries)} ReceiveMessage retries logged after the stop request")
        return out

    def by_action(self):
        p = self.backend.get("proxy")
        if not p or not self.prof.get("proxy"):
            return {}
        return {f"{a}:{k}": n for (a, k), n in sorted(p.by_action.items())}

    def totals(self, key):
        return sum((c.summary() or {}).get(key, 0) or 0 for c in self.children)

    def injected(self):
        out = collections.Counter(self.faults)
        if self.backend.get("proxy"):
            out.update(self.backend["proxy"].injected())
        if self.sc.pg_proxy:
            out.update(self.suite.pg_proxy.injected())
        return {k: v for k, v in out.items() if v}

    def describe_children(self):
        lines = []
        for c in self.children:
            s = c.summary()
            keys = ("received", "inserted", "duplicates_skipped", "rejected", "deleted", "released")
            summary = " ".join(f"{k}={s.get(k)}" for k in keys) if s else "no summary"
            signals = ", ".join(n for _, n in c.signals) or "no signal"
            lines.append(f"    {c.name}: exit {c.proc.returncode} ({signals}), {summary}")
            events = c.events()
            if events:
                last = events[-1]
                at = faultlib.log_time(last["ts"]) - c.started_wall
                lines.append(f"      last log event {last.get('event')} at +{at:.1f} s "
                             f"(ended at +{(c.ended or time.monotonic()) - c.started:.1f} s)")
            warn = [e for e in events if e.get("level") in ("warn", "error")]
            kinds = collections.Counter(e.get("event") for e in warn)
            if kinds:
                lines.append("      warn/error events: " + ", ".join(f"{k} x{v}" for k, v in kinds.most_common(8)))
            for e in [e for e in warn if e.get("level") == "error"][-3:]:
                lines.append("      " + json.dumps(e)[:300])
        return "\n".join(lines)

    def cleanup(self, passed):
        try:
            self.backend["admin"].delete_queue(self.queue_url)
        except Exception:  # noqa: BLE001
            pass
        if passed and not self.suite.keep:
            self.suite.db.query(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            shutil.rmtree(self.workdir, ignore_errors=True)


def faultlib_services():
    return os.environ.get("SQS2PG_TEST_SERVICES") or os.path.join(ROOT, "scripts", "services")


# --- the suite -----------------------------------------------------------------------------

class Suite:
    def __init__(self, args):
        self.args = args
        self.keep = args.keep
        self.emulator_pids = []
        self.children = []  # every sqs2pg started, killed at teardown if still running
        self.loop = None
        self.results = []

    def setup(self):
        self.binary = self.args.binary or os.environ.get("SQS2PG_E2E_BINARY")
        if not self.binary or not os.access(self.binary, os.X_OK):
            raise SetupError("the sqs2pg binary is not given (SQS2PG_E2E_BINARY or --binary) or not executable")
        self.pg_url = need_env("SQS2PG_TEST_PG")
        admin_url = need_env("SQS2PG_TEST_PG_ADMIN")
        need_env("SQS2PG_RUN_DIR")
        self.db = Db(self.pg_url, "faults-check")
        self.admin_db = Db(admin_url, "faults-admin")
        try:
            self.db.query("SELECT 1", retries=3)
            self.admin_db.query("SELECT 1", retries=3)
        except Exception as e:  # noqa: BLE001
            raise SetupError(f"PostgreSQL is not reachable at SQS2PG_TEST_PG: {e}") from e

        self.workdir = tempfile.mkdtemp(prefix="sqs2pg-faults.")
        self.key_file = os.path.join(self.workdir, "mask.keys")
        with open(self.key_file, "wb") as f:
            r = subprocess.run([self.binary, "keygen"], stdout=f, stderr=subprocess.PIPE, timeout=30)
        if r.returncode != 0:
            raise SetupError(f"sqs2pg keygen failed: {r.stderr.decode(errors='replace')}")
        os.chmod(self.key_file, 0o600)

        self.loop = LoopThread()
        self.backends = {}
        needed = {PROFILES[sc.profile]["emulator"] for sc in self.selected}
        for name in ("fauxqs", "local-aws-sqs"):
            if name not in needed:
                continue
            e = start_emulator(name)
            self.emulator_pids.append(e["pid"])
            self.backends[name] = dict(endpoint=e["endpoint"], key=e["key"], secret=e["secret"])
        if "moto" in needed:
            self.backends["moto"] = dict(endpoint=need_env("SQS2PG_TEST_SQS_ENDPOINT"),
                                         key=need_env("SQS2PG_TEST_AWS_ACCESS_KEY_ID"),
                                         secret=need_env("SQS2PG_TEST_AWS_SECRET_ACCESS_KEY"))
        for name, b in self.backends.items():
            b["admin"] = SqsAdmin(b["endpoint"], b["key"], b["secret"], REGION)
            try:
                b["admin"].call("ListQueues", {})
            except Exception as e:  # noqa: BLE001
                raise SetupError(f"{name} at {b['endpoint']} does not answer ListQueues: {e}") from e
            proxy = SqsFaultProxy(b["endpoint"], seed=SEED)
            port = self.loop.run(proxy.start())
            b["proxy"] = proxy
            b["proxy_endpoint"] = f"http://127.0.0.1:{port}"
        u = urllib.parse.urlsplit(self.pg_url)
        self.pg_proxy = PgFaultProxy(u.hostname, u.port or 5432, seed=SEED)
        self.loop.run(self.pg_proxy.start())

    def teardown(self):
        for c in self.children:
            c.kill_at_limit()
        if self.loop:
            for b in getattr(self, "backends", {}).values():
                if b.get("proxy"):
                    try:
                        self.loop.run(b["proxy"].stop(), timeout=5)
                    except Exception:  # noqa: BLE001
                        pass
            try:
                self.loop.run(self.pg_proxy.stop(), timeout=5)
            except Exception:  # noqa: BLE001
                pass
            self.loop.close()
        for pid in self.emulator_pids:
            stop_emulator(pid)
        if getattr(self, "workdir", None) and not self.keep and all(r["passed"] for r in self.results):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def run_one(self, sc):
        prof = PROFILES[sc.profile]
        backend = self.backends[prof["emulator"]]
        backend["client_endpoint"] = backend["proxy_endpoint"] if prof.get("proxy") else backend["endpoint"]
        baseline = self.baselines.get(sc.profile)
        bound = None if sc.baseline else (BOUND_FACTOR * (baseline or 10) + BOUND_CONSTANT + sc.allowance)
        run = Run(self, sc, prof)
        t = time.monotonic()
        try:
            run.prepare()
            run.execute(bound)
            problems = run.check()
        except Exception:  # noqa: BLE001
            problems = ["scenario error: " + traceback.format_exc(limit=4).strip()]
            run.seconds = time.monotonic() - t
            for c in run.children:
                c.kill_at_limit()
            run.missing = run.duplicated = None
            run.statuses = [f"{c.name}:{c.proc.returncode}" for c in run.children]
        if sc.baseline and not problems:
            self.baselines[sc.profile] = run.seconds
        passed = not problems
        res = dict(name=sc.name, passed=passed, seconds=round(run.seconds, 2), bound=bound and round(bound, 1),
                   baseline=baseline and round(baseline, 2), messages=prof["messages"],
                   missing=getattr(run, "missing", None), duplicated=getattr(run, "duplicated", None),
                   exits=" ".join(getattr(run, "statuses", [])), faults=run.injected(),
                   by_action=run.by_action(), skipped=run.totals("duplicates_skipped"),
                   released=run.totals("released"), readiness=getattr(run, "readiness", []),
                   problems=problems,
                   wall=round(time.monotonic() - t, 1))
        self.results.append(res)
        mark = "ok  " if passed else "FAIL"
        print(f"faults: {mark} {sc.name}: {run.seconds:.1f} s"
              + (f" (bound {bound:.0f} s)" if bound else " (baseline)")
              + f", faults {json.dumps(res['faults'], sort_keys=True)}"
              + (f", by action {json.dumps(res['by_action'])}" if res["by_action"] else "")
              + f", duplicates skipped {res['skipped']}, released {res['released']}"
              + ", /readyz: " + ", ".join(res["readiness"]),
              flush=True)
        if not passed:
            for p in problems:
                print(f"    - {p}", flush=True)
            print(run.describe_children(), flush=True)
            print(f"    output kept in {run.workdir}; schema {run.schema}", flush=True)
        try:
            run.cleanup(passed)
        except Exception:  # noqa: BLE001
            pass
        return res

    def run(self):
        self.baselines = {}
        start = time.monotonic()
        for sc in self.selected:
            if not sc.baseline and sc.profile not in self.baselines:
                print(f"faults: note: no passing baseline for profile {sc.profile}; "
                      "bounds use 10 s in its place", flush=True)
                self.baselines[sc.profile] = None
            self.run_one(sc)
        self.total = time.monotonic() - start

    def report(self, excluded):
        print()
        print(f"{'scenario':24} {'result':6} {'seconds':>8} {'bound':>6} {'msgs':>5} {'miss':>5} {'dup':>4} "
              f"{'skip':>5}  exits / faults")
        for r in self.results:
            print(f"{r['name']:24} {'ok' if r['passed'] else 'FAIL':6} {r['seconds']:8.1f} "
                  f"{(r['bound'] or 0):6.0f} {r['messages']:5} {str(r['missing']):>5} {str(r['duplicated']):>4} "
                  f"{r['skipped']:5}  "
                  f"{r['exits']} {' '.join(f'{k}={v}' for k, v in sorted(r['faults'].items()))}")
        kinds = collections.Counter()
        for r in self.results:
            kinds.update(r["faults"])
        slow = None
        for r in self.results:
            ratio = r["baseline"] and r["seconds"] / r["baseline"]
            if ratio and (slow is None or ratio > slow["seconds"] / slow["baseline"]):
                slow = r
        figure = {
            "suite": "faults",
            "scenarios": len(self.results),
            "passed": sum(r["passed"] for r in self.results),
            "failed": [r["name"] for r in self.results if not r["passed"]],
            "excluded": excluded,
            "messages": sum(r["messages"] for r in self.results),
            "faults": dict(sorted(kinds.items())),
            "slowest": slow and {"scenario": slow["name"], "seconds": slow["seconds"],
                                 "baseline": slow["baseline"],
                                 "ratio": round(slow["seconds"] / slow["baseline"], 1)},
            "seconds": round(self.total, 1),
        }
        print()
        print(json.dumps(figure))
        return figure


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", help="the sqs2pg binary (default: $SQS2PG_E2E_BINARY)")
    ap.add_argument("--only", help="comma-separated scenario names (baselines of their profiles are added)")
    ap.add_argument("--exclude", help="comma-separated scenario names to leave out (reported as excluded)")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--keep", action="store_true", help="keep every scenario's output and schema")
    args = ap.parse_args()

    if args.list:
        for sc in SCENARIOS:
            print(f"{sc.name:24} [{sc.profile}] {sc.injects}")
        return 0
    names = {sc.name for sc in SCENARIOS}
    only = set(args.only.split(",")) if args.only else None
    excluded = sorted(set(args.exclude.split(",")) if args.exclude else set())
    for n in (only or set()) | set(excluded):
        if n not in names:
            print(f"faults: unknown scenario {n!r} (see --list)", file=sys.stderr)
            return 2
    selected = [sc for sc in SCENARIOS if (only is None or sc.name in only) and sc.name not in excluded]
    profiles = {sc.profile for sc in selected}
    selected = [sc for sc in SCENARIOS
                if sc in selected or (sc.baseline and sc.profile in profiles and sc.name not in excluded)]
    if excluded:
        print(f"faults: EXCLUDED (not run): {', '.join(excluded)}", flush=True)

    # meson's timeout (and a Ctrl-C) end the suite through its cleanup: no sqs2pg left
    # running, no PostgreSQL backend left stopped, the emulators stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    suite = Suite(args)
    suite.selected = selected
    try:
        suite.setup()
        suite.run()
    except SetupError as e:
        print(f"faults: FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        suite.teardown()
    figure = suite.report(excluded)
    return 0 if not figure["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
