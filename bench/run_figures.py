#!/usr/bin/env python3
"""Runs the throughput sets the SQS client issue (3) and the pipeline issue (6) ask for,
and the one-table comparison of the performance issue, C++ tools and baselines side by
side in one session, each on a freshly loaded queue, each wrapped in bench/measure.
Every result is appended as a JSON line to bench/results/<time>.jsonl; a table is
printed at the end.

    bench/run_figures.py sqs-client [--drain-cmd TEMPLATE]   # issue 3
    bench/run_figures.py pipeline   [--sqs2pg-cmd TEMPLATE]  # issue 6
    bench/run_figures.py all --smoke                         # 2,000 messages per run
    bench/run_figures.py compare --repeat 3                  # one table, one run
    bench/run_figures.py pipeline --no-baselines --repeat 3 \\
        --sqs2pg before 'OLD/sqs2pg --drain ...' --sqs2pg after 'NEW/sqs2pg --drain ...'

sqs-client: local-aws-sqs (query, 9,000 messages) and fauxqs (JSON, 100,000), 1 and 16
pollers: the C++ drain tool (when --drain-cmd is given), boto3 1.43 (JSON) and, on
local-aws-sqs, Debian's boto3 1.26 (query: the same protocol as the C++ run).
pipeline: local-aws-sqs (query, 9,000, 16 receivers) and fauxqs (JSON, 100,000) into
PostgreSQL: sqs2pg --drain (when --sqs2pg-cmd is given) and original_pipeline.py
(boto3 1.43, JSON; on local-aws-sqs also Debian boto3 1.26, query). user_logins (and
sqs2pg's ledger and rejects table) is emptied before each pipeline run. PostgreSQL:
$DATABASE_URL, or else this script starts scripts/services in a temp dir and stops it at
the end.
compare: per emulator (fauxqs JSON, 20,000 messages; local-aws-sqs query, 9,000), an
untimed warm-up drain, the bare receive+delete ceiling (sqs_drain, 16 pollers, short
polls as sqs2pg --drain makes), then sqs2pg --drain (16 receivers;
each build --repeat times) interleaved with the baselines: node_consumer.mjs
(sqs-consumer + pg, JSON, 16 consumers), batched_pipeline.py and original_pipeline.py
(one thread; boto3 1.43 JSON on fauxqs, Debian boto3 1.26 query on local-aws-sqs).
Same queue size, seed, emulator and database for all; user_logins (and sqs2pg's ledger
and rejects table) emptied before each; PostgreSQL's CPU read from /proc around each run
(see PostgresCpu). sqs2pg and sqs_drain default to build-release/; without
SQS2PG_MASK_KEY_FILE a key is made with sqs2pg keygen.

Templates are shell-split and formatted with {queue_url}, {endpoint}, {region},
{pollers}, {protocol} (query|json), {pg} (DATABASE_URL), e.g.
    --drain-cmd 'build/bench/sqs_drain --queue-url {queue_url} --pollers {pollers} --protocol {protocol}'
    --sqs2pg-cmd 'build/sqs2pg --drain --queue-url {queue_url} --endpoint-url {endpoint} --sqs-protocol {protocol} --receivers {pollers} --pg {pg}'
(the C++ tools' flag names are theirs; adjust the templates to them)."""

import argparse
import datetime
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
VENV_PY = os.path.join(BENCH, ".venv", "bin", "python")
DEBIAN_PY = "/usr/bin/python3"


def log(*a):
    print("run_figures:", *a, file=sys.stderr, flush=True)


def parse_exports(text):
    env, unset = {}, []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("export "):
            for tok in shlex.split(line[len("export "):]):
                k, _, v = tok.partition("=")
                env[k] = v
        elif line.startswith("unset "):
            unset += line.split()[1:]
    return env, unset


class Emulator:
    def __init__(self, name, base_env):
        out = subprocess.run([os.path.join(BENCH, "emulators", "start"), name], env=base_env,
                             check=True, capture_output=True, text=True)
        exports, unset = parse_exports(out.stdout)
        self.env = {k: v for k, v in base_env.items() if k not in unset}
        self.env.update(exports)
        self.name = name

    def stop(self):
        subprocess.run([os.path.join(BENCH, "emulators", "stop")], env=self.env, check=False)

# Titles (/proc/PID/cmdline) of PostgreSQL's own processes, as opposed to the backends
# serving client connections ("postgres: USER DB HOST(PORT) STATE") and their parallel
# workers.
PG_BACKGROUND = ("checkpointer", "background writer", "walwriter", "autovacuum launcher",
                 "autovacuum worker", "logical replication launcher", "logical replication worker",
                 "stats collector", "archiver", "walsender", "walreceiver", "startup", "wal summarizer",
                 "io worker")


class PostgresCpu:
    """CPU time of a PostgreSQL server on this machine, read from /proc around a run.

    The postmaster is found as the parent of a psql backend (pg_backend_pid()). A
    snapshot sums utime+stime of the postmaster and of every child, plus the postmaster's
    cutime+cstime: a backend that exits is reaped by the postmaster and its CPU moves
    into the postmaster's cutime, so the difference of two snapshots is exactly the CPU
    the whole server used in between, connections that came and went included ("all").
    A sampler thread reads the children every 100 ms with their process titles; the CPU
    of PostgreSQL's own processes (checkpointer, walwriter, autovacuum workers, ...; those
    alive at both ends exactly, a worker that exits in between up to its last sample)
    is taken off, leaving the backends that served the connections ("backends").
    Autovacuum and checkpoints run when they will, not when the rows causing them were
    written, which is why the table shows "backends" and the JSON has both. None when
    the server is not a local process this user can read (a remote DATABASE_URL)."""

    def __init__(self, pg, env):
        self.clk = os.sysconf("SC_CLK_TCK")
        self.pm = None
        try:
            proc = subprocess.Popen(["psql", "-X", "-At", pg], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True, env=env)
            try:
                proc.stdin.write("SELECT pg_backend_pid();\n")
                proc.stdin.flush()
                backend = int(proc.stdout.readline())
                with open(f"/proc/{backend}/status", encoding="ascii") as f:  # while it is connected
                    ppid = int(next(ln for ln in f if ln.startswith("PPid:")).split()[1])
            finally:
                proc.stdin.close()
                proc.wait(timeout=10)
            with open(f"/proc/{ppid}/comm", encoding="utf-8", errors="replace") as f:
                if f.read().strip() == "postgres" and self._stat(ppid) is not None:
                    self.pm = ppid
        except (OSError, ValueError, StopIteration, subprocess.SubprocessError) as e:
            log(f"Postgres CPU will not be measured: {type(e).__name__}: {e}")
        if self.pm is None:
            log("Postgres CPU will not be measured: the server is not a local process readable here")
        self._stop = threading.Event()
        self._thread = None
        self._seen = {}

    def _stat(self, pid):
        """(ppid, utime+stime, cutime+cstime) in seconds, or None."""
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # After "(comm)": state ppid ... utime(14) stime(15) cutime(16) cstime(17), 1-based.
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / self.clk, \
            (int(fields[13]) + int(fields[14])) / self.clk

    @staticmethod
    def _title(pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def _children(self):
        try:
            with open(f"/proc/{self.pm}/task/{self.pm}/children", encoding="ascii") as f:
                return [int(x) for x in f.read().split()]
        except OSError:  # no CONFIG_PROC_CHILDREN: scan
            out = []
            for name in os.listdir("/proc"):
                if name.isdigit():
                    st = self._stat(int(name))
                    if st and st[0] == self.pm:
                        out.append(int(name))
            return out

    def _sample(self):
        """{pid: (title, cpu)} of the postmaster's children now."""
        out = {}
        for pid in self._children():
            st = self._stat(pid)
            if st is not None:
                out[pid] = (self._title(pid), st[1] + st[2])
        return out

    @staticmethod
    def _background(title):
        rest = title[len("postgres:"):].strip() if title.startswith("postgres:") else title
        return rest.startswith(PG_BACKGROUND)

    def _total(self):
        st = self._stat(self.pm)
        return None if st is None else st[1] + st[2] + sum(cpu for _, cpu in self._sample().values())

    def _sampler(self):
        while not self._stop.wait(0.1):
            for pid, (title, cpu) in self._sample().items():
                first = self._seen.get(pid, (title, None, cpu))[1]
                self._seen[pid] = (title, first, cpu)

    def start(self):
        if self.pm is None:
            return
        self._seen = {pid: (title, cpu, cpu) for pid, (title, cpu) in self._sample().items()}
        self._total0 = self._total()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sampler, daemon=True)
        self._thread.start()

    def stop(self):
        """{"all_s", "background_s", "backends_s"} of CPU seconds since start(), or None."""
        if self.pm is None or self._thread is None:
            return None
        time.sleep(0.3)  # the tool's backends exit after it does: let the postmaster reap them
        self._stop.set()
        self._thread.join()
        now = self._sample()
        total = self._total()
        background = 0.0
        for pid, (title, first, last) in self._seen.items():
            if not self._background(title):
                continue
            if pid in now and now[pid][0] == title:
                last = now[pid][1]
            background += last - (first if first is not None else 0.0)
        for pid, (title, cpu) in now.items():  # started after the last sample
            if pid not in self._seen and self._background(title):
                background += cpu
        if total is None or self._total0 is None:
            return None
        all_s = total - self._total0
        return {"all_s": round(all_s, 3), "background_s": round(background, 3),
                "backends_s": round(all_s - background, 3)}


class Runner:
    def __init__(self, args, results=None):
        self.args = args
        self.rows = []
        if results:  # an earlier run's lines, to print its table again
            self.out = results
            with open(results, encoding="utf-8") as f:
                self.rows = [json.loads(ln) for ln in f if ln.strip()]
        else:
            os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            self.out = os.path.join(BENCH, "results", f"{stamp}{'-smoke' if args.smoke else ''}.jsonl")
        self.started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        self.load0 = loadavg()
        self.commit = git_commit()

    def load(self, emu, count, protocol):
        name = f"bench-{uuid.uuid4().hex[:10]}"
        cmd = [VENV_PY, os.path.join(BENCH, "load_queue.py"), "--queue-name", name, "-n", str(count),
               "--protocol", protocol, "--malformed", str(self.args.malformed_fraction), "--seed", "1"]
        out = subprocess.run(cmd, env=emu.env, check=True, capture_output=True, text=True)
        loaded = json.loads(out.stdout.strip().splitlines()[-1])
        log(f"{emu.name}: loaded {loaded['messages']} messages in {loaded['seconds']} s -> {name}")
        return loaded["queue_url"]

    def measure(self, label, cmd, env, meta):
        log(f"{label}: {' '.join(cmd)}")
        out = subprocess.run([os.path.join(BENCH, "measure"), "--label", label,
                              "--messages", str(meta["loaded"]), "--"] + cmd, env=env,
                             capture_output=True, text=True)
        sys.stderr.write(out.stderr[-2000:])
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        measured = json.loads(lines[-1]) if lines else {"label": label, "exit_code": None}
        row = {**meta, "label": label, "measure": measured}
        if measured.get("exit_code") != 0:
            log(f"{label}: exit code {measured.get('exit_code')}")
        return row

    def save(self, row):
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        self.rows.append(row)

    def template(self, tpl, **values):
        return [part.format(**values) for part in shlex.split(tpl)]

    # --- issue 3 ----------------------------------------------------------------------
    def sqs_client(self, base_env):
        n_las, n_faux = (2000, 2000) if self.args.smoke else (9000, 100000)
        for emu_name, protocol, count in (("local-aws-sqs", "query", n_las), ("fauxqs", "json", n_faux)):
            emu = Emulator(emu_name, base_env)
            try:
                for pollers in (1, 16):
                    tools = []
                    if self.args.drain_cmd:
                        tools.append(("sqs_drain", None))
                    tools.append(("boto3-json", VENV_PY))
                    if protocol == "query" and os.path.exists(DEBIAN_PY):
                        tools.append(("boto3-query", DEBIAN_PY))
                    for tool, py in tools:
                        url = self.load(emu, count, protocol)
                        if py is None:
                            cmd = self.template(self.args.drain_cmd, queue_url=url, pollers=pollers,
                                                protocol=protocol, endpoint=emu.env["AWS_ENDPOINT_URL_SQS"],
                                                region=emu.env["AWS_REGION"], pg="")
                        else:
                            cmd = [py, os.path.join(BENCH, "baseline", "sqs_drain_boto3.py"), "--queue-url", url,
                                   "--threads", str(pollers)]
                        self.save(self.measure(f"sqs-client {emu_name} {tool} x{pollers}", cmd, emu.env,
                                               {"set": "sqs-client", "emulator": emu_name, "tool": tool,
                                                "pollers": pollers, "loaded": count}))
            finally:
                emu.stop()

    # --- issue 6 ----------------------------------------------------------------------
    def pipeline(self, base_env):
        n_las, n_faux = (2000, 2000) if self.args.smoke else (9000, 100000)
        pg = base_env["DATABASE_URL"]
        for emu_name, protocol, count in (("local-aws-sqs", "query", n_las), ("fauxqs", "json", n_faux)):
            emu = Emulator(emu_name, base_env)
            try:
                tools = []  # (name, sqs2pg template or None, python or None)
                for _ in range(self.args.repeat):
                    # Several builds run interleaved, so they share the machine's conditions.
                    for name, tpl in self.sqs2pg_templates():
                        tools.append((name, tpl, None))
                if not self.args.no_baselines:
                    tools.append(("original-boto3-json", None, VENV_PY))
                    if protocol == "query" and os.path.exists(DEBIAN_PY):
                        tools.append(("original-boto3-query", None, DEBIAN_PY))
                for tool, tpl, py in tools:
                    empty_tables(pg, base_env)
                    url = self.load(emu, count, protocol)
                    if py is None:
                        cmd = self.template(tpl, queue_url=url, pollers=16, protocol=protocol,
                                            endpoint=emu.env["AWS_ENDPOINT_URL_SQS"],
                                            region=emu.env["AWS_REGION"], pg=pg)
                    else:
                        cmd = [py, os.path.join(BENCH, "baseline", "original_pipeline.py"), "--queue-url", url,
                               "--pg", pg]
                    row = self.measure(f"pipeline {emu_name} {tool}", cmd, emu.env,
                                       {"set": "pipeline", "emulator": emu_name, "tool": tool, "loaded": count})
                    rows = subprocess.run(["psql", "-X", "-At", pg, "-c", "SELECT count(*) FROM user_logins"],
                                          check=True, env=base_env, capture_output=True, text=True).stdout.strip()
                    row["rows_in_table"] = int(rows)
                    self.save(row)
            finally:
                emu.stop()

    # --- issue 11, item 5: one table, one run --------------------------------------------
    def compare(self, base_env):
        """For each emulator: the bare receive+delete ceiling, then sqs2pg (each build
        --repeat times) interleaved with the Node, batched Python and original Python
        baselines, each on a freshly loaded queue (same seed) into an emptied user_logins,
        with the Postgres server's CPU measured around each run."""
        a = self.args
        pg = base_env["DATABASE_URL"]
        pollers = a.receivers
        pgcpu = PostgresCpu(pg, base_env)
        sets = {"fauxqs": ("json", 2000 if a.smoke else a.fauxqs_messages),
                "local-aws-sqs": ("query", 2000 if a.smoke else a.local_aws_sqs_messages)}
        for emu_name in a.emulators.split(","):
            protocol, count = sets[emu_name]
            # Python speaks the protocol sqs2pg speaks there (query: Debian's boto3 1.26);
            # @aws-sdk/client-sqs v3 speaks JSON only.
            py = DEBIAN_PY if protocol == "query" else VENV_PY
            baselines = [("node sqs-consumer + pg", "node", "json", a.node_consumers),
                         ("python batched", "batched", protocol, 1),
                         ("python original", "original", protocol, 1)]
            if a.no_baselines:
                baselines = []
            runs = [(f"receive+delete ceiling ({'sqs_drain' if a.drain_cmd else 'boto3 drain'})",
                     "ceiling", protocol if a.drain_cmd else "json", pollers, None)]
            builds = [(name, tpl) for _ in range(a.repeat) for name, tpl in self.sqs2pg_templates()]
            # Interleaved, so repeated sqs2pg runs spread over the session's conditions.
            while builds or baselines:
                if builds:
                    name, tpl = builds.pop(0)
                    runs.append((name, "sqs2pg", protocol, pollers, tpl))
                if baselines:
                    runs.append(baselines.pop(0) + (None,))
            emu = Emulator(emu_name, base_env)
            try:
                self.warm_up(emu, protocol, pollers, count)
                for tool, kind, wire, n, tpl in runs:
                    self.compare_run(emu, protocol, pg, pgcpu, tool, kind, wire, n, tpl, py, count)
            finally:
                emu.stop()

    def warm_up(self, emu, protocol, pollers, count):
        """One untimed, unrecorded load and drain of the same size first: a freshly
        started emulator (Node) answers its first receives and deletes from cold code,
        which made the ceiling, measured first, ~40 % slower than later runs."""
        url = self.load(emu, count, protocol)
        if self.args.drain_cmd:
            cmd = self.template(self.args.drain_cmd, queue_url=url, pollers=pollers, protocol=protocol,
                                endpoint=emu.env["AWS_ENDPOINT_URL_SQS"], region=emu.env["AWS_REGION"], pg="")
        else:
            cmd = [VENV_PY, os.path.join(BENCH, "baseline", "sqs_drain_boto3.py"), "--queue-url", url,
                   "--threads", str(pollers)]
        log(f"{emu.name}: warm-up drain (not measured)")
        subprocess.run(cmd, env=emu.env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def compare_run(self, emu, protocol, pg, pgcpu, tool, kind, wire, pollers, tpl, py, count):
        endpoint = emu.env["AWS_ENDPOINT_URL_SQS"]
        if kind != "ceiling":
            empty_tables(pg, emu.env)
        url = self.load(emu, count, protocol)  # the same messages for every tool (seed 1)
        if kind == "ceiling" and self.args.drain_cmd:
            cmd = self.template(self.args.drain_cmd, queue_url=url, pollers=pollers, protocol=wire,
                                endpoint=endpoint, region=emu.env["AWS_REGION"], pg="")
        elif kind == "ceiling":
            cmd = [VENV_PY, os.path.join(BENCH, "baseline", "sqs_drain_boto3.py"), "--queue-url", url,
                   "--threads", str(pollers)]
        elif kind == "sqs2pg":
            cmd = self.template(tpl, queue_url=url, pollers=pollers, protocol=wire, endpoint=endpoint,
                                region=emu.env["AWS_REGION"], pg=pg)
        elif kind == "node":
            cmd = ["node", os.path.join(BENCH, "baseline", "node_consumer.mjs"), "--queue-url", url,
                   "--pg", pg, "--consumers", str(pollers)]
        else:
            script = "batched_pipeline.py" if kind == "batched" else "original_pipeline.py"
            cmd = [py, os.path.join(BENCH, "baseline", script), "--queue-url", url, "--pg", pg]
        meta = {"set": "compare", "emulator": emu.name, "tool": tool, "kind": kind, "protocol": wire,
                "pollers": pollers, "loaded": count, "loadavg_before": loadavg(),
                "session": {"started_utc": self.started, "commit": self.commit, "cores": os.cpu_count(),
                            "loadavg_at_start": self.load0}}
        if kind != "ceiling":
            pgcpu.start()
        row = self.measure(f"compare {emu.name} {tool}", cmd, emu.env, meta)
        if kind != "ceiling":
            cpu = pgcpu.stop()
            rows = int(subprocess.run(["psql", "-X", "-At", pg, "-c", "SELECT count(*) FROM user_logins"],
                                      check=True, env=emu.env, capture_output=True, text=True).stdout.strip())
            row["rows_in_table"] = rows
            if cpu is not None:
                row["postgres_cpu"] = {**cpu, **({
                    "backends_us_per_row": round(cpu["backends_s"] * 1e6 / rows, 1),
                    "all_us_per_row": round(cpu["all_s"] * 1e6 / rows, 1)} if rows else {})}
            expected = count - round(count * self.args.malformed_fraction)
            row["rows_expected"] = expected
            if rows != expected:
                log(f"{tool}: {rows} rows in user_logins, {expected} expected")
        self.save(row)

    def compare_table(self):
        """The compare set's table: per emulator, one line per run; Markdown with
        --markdown (the form docs/performance.md quotes)."""
        def fmt(v, spec):
            return "-" if v is None else format(v, spec)
        md = self.args.markdown
        rows = [r for r in self.rows if r.get("set") == "compare"]
        session = (rows[0].get("session") if rows else None) or (
            {"started_utc": "?", "commit": "?", "cores": "?", "loadavg_at_start": "?"} if self.args.table_from else
            {"started_utc": self.started, "commit": self.commit, "cores": os.cpu_count(),
             "loadavg_at_start": self.load0})
        if md:
            print(f"Measured {session['started_utc']} UTC at commit `{session['commit']}` on {session['cores']} "
                  f"cores, load average {session['loadavg_at_start']} at the start.\n")
            print("| emulator | tool | wire | receivers | messages | CPU µs/msg | peak RSS MiB | msgs/s (own) "
                  "| msgs/s (wall) | Postgres CPU µs/row | Postgres all µs/row |")
            print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        else:
            print(f"{'emulator':14} {'tool':34} {'wire':5} {'poll':>4} {'msgs':>6} {'cpu us/msg':>10} "
                  f"{'rss MiB':>7} {'msgs/s':>7} {'wall/s':>7} {'pg us/row':>9} {'pg all':>7}")
        for r in rows:
            m = r["measure"]
            c = m.get("child") or {}
            pgc = r.get("postgres_cpu") or {}
            cells = [r["emulator"], r["tool"], r["protocol"], str(r["pollers"]), fmt(m.get("messages"), ",d"),
                     fmt(m.get("cpu_us_per_msg"), ",.1f"), f"{(m.get('peak_rss_kb') or 0) / 1024:.1f}",
                     fmt(c.get("msgs_per_sec"), ",.0f"), fmt(m.get("msgs_per_sec"), ",.0f"),
                     fmt(pgc.get("backends_us_per_row"), ".1f"), fmt(pgc.get("all_us_per_row"), ".1f")]
            if m.get("exit_code") != 0:
                cells[1] += f" (exit {m.get('exit_code')})"
            if r.get("rows_expected") is not None and r.get("rows_in_table") != r["rows_expected"]:
                cells[1] += f" ({r.get('rows_in_table')} rows, {r['rows_expected']} expected)"
            if md:
                print("| " + " | ".join(cells) + " |")
            else:
                widths = (14, 34, 5, -4, -6, -10, -7, -7, -7, -9, -7)
                print(" ".join(f"{v:<{w}}" if w > 0 else f"{v:>{-w}}" for v, w in zip(cells, widths)))
        sq = [r for r in self.rows if r.get("kind") == "sqs2pg" and r["measure"].get("cpu_us_per_msg")]
        for emu in sorted({r["emulator"] for r in sq}):
            for name in sorted({r["tool"] for r in sq if r["emulator"] == emu}):
                rs = [r for r in sq if r["emulator"] == emu and r["tool"] == name]
                if len(rs) > 1:
                    med = lambda f: statistics.median(f(r) for r in rs)  # noqa: E731
                    print(f"{'' if not md else chr(10)}{emu} {name}: median of {len(rs)}: "
                          f"{med(lambda r: r['measure']['cpu_us_per_msg']):.1f} us/msg, "
                          f"{med(lambda r: (r['measure'].get('peak_rss_kb') or 0) / 1024):.1f} MiB, "
                          f"{med(lambda r: (r['measure'].get('child') or {}).get('msgs_per_sec') or 0):.0f} msgs/s, "
                          f"{med(lambda r: r['measure']['msgs_per_sec']):.0f} wall msgs/s, "
                          f"{med(lambda r: (r.get('postgres_cpu') or {}).get('backends_us_per_row') or 0):.1f}"
                          " pg us/row")
        if not md:
            print(f"started {session['started_utc']} UTC, commit {session['commit']}, {session['cores']} cores, "
                  f"load average at start {session['loadavg_at_start']}")

    def sqs2pg_templates(self):
        """(name, template) of every sqs2pg build to run; --sqs2pg-cmd is named "sqs2pg"."""
        out = [("sqs2pg", self.args.sqs2pg_cmd)] if self.args.sqs2pg_cmd else []
        out += [(name, tpl) for name, tpl in (self.args.sqs2pg or [])]
        return out

    def table(self):
        """msgs/s is the tool's own figure (its "seconds"), wall msgs/s is messages over
        the measured wall time of the whole process; CPU and RSS are measured outside."""
        if any(r.get("set") == "compare" for r in self.rows):
            self.compare_table()
            print(f"results: {self.out}")
            return
        print(f"{'run':46} {'msgs':>7} {'msgs/s':>8} {'wall/s':>8} {'cpu us/msg':>10} {'rss MiB':>8}"
              f" {'p50 ms':>7} {'p99 ms':>7}")
        for r in self.rows:
            m = r["measure"]
            c = m.get("child") or {}
            p50, p99 = c.get("p50_ms", c.get("p50_latency_ms")), c.get("p99_ms", c.get("p99_latency_ms"))
            print(f"{r['label']:46} {m.get('messages') or '-':>7} {c.get('msgs_per_sec') or '-':>8} "
                  f"{m.get('msgs_per_sec') or '-':>8} {m.get('cpu_us_per_msg') or '-':>10} "
                  f"{(m.get('peak_rss_kb') or 0) / 1024:>8.1f} "
                  f"{p50 if p50 is not None else '-':>7} {p99 if p99 is not None else '-':>7}")
        print(f"results: {self.out}")


# What every measured run starts from: no rows, and an empty ledger and rejects table (an
# earlier run's ledger entries would make sqs2pg's Postgres CPU per row depend on what ran
# before it in the session: the ledger's index grows with every drain).
EMPTY_TABLES = """TRUNCATE user_logins;
DO $$ BEGIN
  IF to_regclass('sqs2pg_ledger') IS NOT NULL THEN EXECUTE 'TRUNCATE sqs2pg_ledger'; END IF;
  IF to_regclass('sqs2pg_rejects') IS NOT NULL THEN EXECUTE 'TRUNCATE sqs2pg_rejects'; END IF;
END $$;"""


def empty_tables(pg, env):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg, "-c", EMPTY_TABLES],
                   check=True, env=env)


def loadavg():
    """The 1, 5 and 15 minute load averages, as /proc/loadavg gives them."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def git_commit():
    out = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def default_templates(args):
    """compare: sqs2pg and sqs_drain from build-release/ unless templates are given."""
    if args.set != "compare":
        return
    release = os.path.join(ROOT, "build-release")
    if not args.sqs2pg_cmd and not args.sqs2pg:
        binary = os.path.join(release, "src", "app", "sqs2pg")
        if not os.access(binary, os.X_OK):
            sys.exit(f"run_figures: {binary} missing: build it (bench/README.md) or give --sqs2pg-cmd")
        args.sqs2pg_cmd = (shlex.quote(binary) + " --drain --queue-url {queue_url} --endpoint-url {endpoint}"
                           " --sqs-protocol {protocol} --receivers {pollers} --pg {pg} --log-level warn")
    if not args.drain_cmd:
        binary = os.path.join(release, "bench", "sqs_drain")
        if os.access(binary, os.X_OK):
            # Short polls, as sqs2pg --drain makes them: its wall figure then ends with
            # the queue, not with the pollers' last long polls.
            args.drain_cmd = (shlex.quote(binary) + " --queue-url {queue_url} --endpoint-url {endpoint}"
                              " --protocol {protocol} --pollers {pollers} --wait-time-seconds 0")
        else:
            log(f"{binary} missing: the ceiling is boto3's drain (JSON, threads = receivers)")
    if args.node_consumers is None:
        args.node_consumers = args.receivers


def mask_key(args, env, tmp):
    """compare: a fresh key for sqs2pg (sqs2pg keygen) unless the environment names one."""
    if args.set != "compare" or env.get("SQS2PG_MASK_KEY_FILE") or env.get("SQS2PG_MASK_KEY"):
        return
    templates = [args.sqs2pg_cmd] if args.sqs2pg_cmd else []
    templates += [tpl for _, tpl in args.sqs2pg or []]
    binary = shlex.split(templates[0])[0]
    path = os.path.join(tmp, "mask.keys")
    subprocess.run([binary, "keygen", "--out", path], check=True, env=env, stdout=subprocess.DEVNULL)
    env["SQS2PG_MASK_KEY_FILE"] = path
    log(f"SQS2PG_MASK_KEY_FILE not set: made a key with {binary} keygen")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("set", choices=("sqs-client", "pipeline", "all", "compare"))
    p.add_argument("--smoke", action="store_true", help="2,000 messages per run instead of 9,000/100,000 "
                   "(compare: instead of --fauxqs-messages/--local-aws-sqs-messages)")
    p.add_argument("--drain-cmd", help="command template of the C++ receive+delete tool (issue 3; compare: "
                   "the ceiling, default build-release/bench/sqs_drain)")
    p.add_argument("--sqs2pg-cmd", help="command template of sqs2pg in drain mode (issue 6; compare: default "
                   "build-release/src/app/sqs2pg --drain ...)")
    p.add_argument("--sqs2pg", nargs=2, action="append", metavar=("NAME", "TEMPLATE"),
                   help="pipeline, compare: another sqs2pg build, labelled NAME (repeatable: e.g. "
                        "before and after a change, in one session)")
    p.add_argument("--repeat", type=int, default=1,
                   help="pipeline, compare: run each sqs2pg build this many times, interleaved")
    p.add_argument("--no-baselines", action="store_true",
                   help="pipeline, compare: skip the baselines (compare sqs2pg builds only)")
    p.add_argument("--malformed-fraction", type=float, default=0.0,
                   help="fraction of malformed messages loaded (default 0)")
    g = p.add_argument_group("compare")
    g.add_argument("--emulators", default="fauxqs,local-aws-sqs",
                   help="comma-separated, of fauxqs (JSON) and local-aws-sqs (query); default both")
    g.add_argument("--fauxqs-messages", type=int, default=20000, help="messages per run on fauxqs (20,000)")
    g.add_argument("--local-aws-sqs-messages", type=int, default=9000,
                   help="messages per run on local-aws-sqs (9,000; query receivers need < 10,000)")
    g.add_argument("--receivers", type=int, default=16,
                   help="sqs2pg's receivers and the ceiling's pollers (16)")
    g.add_argument("--markdown", action="store_true",
                   help="print the table as Markdown, with date, commit and load (docs/performance.md)")
    g.add_argument("--table-from", metavar="RESULTS_JSONL",
                   help="run nothing: print the compare table of an earlier run's bench/results file")
    g.add_argument("--node-consumers", type=int,
                   help="sqs-consumer Consumer instances of the Node baseline (default: --receivers)")
    args = p.parse_args()
    for need in (VENV_PY, os.path.join(BENCH, "node_modules")):
        if not os.path.exists(need):
            sys.exit(f"run_figures: {need} missing: run bench/setup")
    if args.set == "compare":
        for tool in ("node", "psql"):
            if not shutil.which(tool):
                sys.exit(f"run_figures: {tool} not found (bench/setup; PostgreSQL: scripts/install-deps)")
        if not set(args.emulators.split(",")) <= {"fauxqs", "local-aws-sqs"}:
            p.error("--emulators: fauxqs, local-aws-sqs")
        if args.local_aws_sqs_messages >= 10000 and "local-aws-sqs" in args.emulators:
            p.error("--local-aws-sqs-messages: local-aws-sqs refuses query receives at 10,000 visible")
    if args.table_from:
        runner = Runner(args, results=args.table_from)
        runner.table()
        return 0
    default_templates(args)

    runner = Runner(args)
    base_env = dict(os.environ)
    services_dir = None
    key_dir = tempfile.mkdtemp(prefix="sqs2pg-bench-key.")
    try:
        mask_key(args, base_env, key_dir)
        if args.set in ("pipeline", "all", "compare") and not base_env.get("DATABASE_URL"):
            services_dir = tempfile.mkdtemp(prefix="sqs2pg-bench-services.")
            base_env["SQS2PG_RUN_DIR"] = services_dir
            out = subprocess.run([os.path.join(ROOT, "scripts", "services"), "start"], env=base_env,
                                 check=True, capture_output=True, text=True)
            base_env.update(parse_exports(out.stdout)[0])
            log(f"started PostgreSQL (and moto) with scripts/services in {services_dir}")
        if args.set in ("sqs-client", "all"):
            runner.sqs_client(base_env)
        if args.set in ("pipeline", "all"):
            runner.pipeline(base_env)
        if args.set == "compare":
            runner.compare(base_env)
    finally:
        if services_dir:
            subprocess.run([os.path.join(ROOT, "scripts", "services"), "stop"], env=base_env, check=False)
            shutil.rmtree(services_dir, ignore_errors=True)
        shutil.rmtree(key_dir, ignore_errors=True)
        runner.table()
    return 0 if all(r["measure"].get("exit_code") == 0 for r in runner.rows) else 1

if __name__ == "__main__":
    sys.exit(main())
