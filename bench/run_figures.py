#!/usr/bin/env python3
"""Runs the throughput sets the SQS client issue (3) and the pipeline issue (6) ask for,
C++ tool and Python baseline side by side in one session, each on a freshly loaded
queue, each wrapped in bench/measure. Every result is appended as a JSON line to
bench/results/<time>.jsonl; a table is printed at the end.

    bench/run_figures.py sqs-client [--drain-cmd TEMPLATE]   # issue 3
    bench/run_figures.py pipeline   [--sqs2pg-cmd TEMPLATE]  # issue 6
    bench/run_figures.py all --smoke                         # 2,000 messages per run
    bench/run_figures.py pipeline --no-baselines --repeat 3 \\
        --sqs2pg before 'OLD/sqs2pg --drain ...' --sqs2pg after 'NEW/sqs2pg --drain ...'

sqs-client: local-aws-sqs (query, 9,000 messages) and fauxqs (JSON, 100,000), 1 and 16
pollers: the C++ drain tool (when --drain-cmd is given), boto3 1.43 (JSON) and, on
local-aws-sqs, Debian's boto3 1.26 (query: the same protocol as the C++ run).
pipeline: local-aws-sqs (query, 9,000, 16 receivers) and fauxqs (JSON, 100,000) into
PostgreSQL: sqs2pg --drain (when --sqs2pg-cmd is given) and original_pipeline.py
(boto3 1.43, JSON; on local-aws-sqs also Debian boto3 1.26, query). user_logins is
emptied before each pipeline run. PostgreSQL: $DATABASE_URL, or else this script starts
scripts/services in a temp dir and stops it at the end.

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
import subprocess
import sys
import tempfile
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


class Runner:
    def __init__(self, args):
        self.args = args
        os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.out = os.path.join(BENCH, "results", f"{stamp}{'-smoke' if args.smoke else ''}.jsonl")
        self.rows = []

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
                    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg, "-c", "TRUNCATE user_logins"],
                                   check=True, env=base_env)
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

    def sqs2pg_templates(self):
        """(name, template) of every sqs2pg build to run; --sqs2pg-cmd is named "sqs2pg"."""
        out = [("sqs2pg", self.args.sqs2pg_cmd)] if self.args.sqs2pg_cmd else []
        out += [(name, tpl) for name, tpl in (self.args.sqs2pg or [])]
        return out

    def table(self):
        """msgs/s is the tool's own figure (its "seconds"), wall msgs/s is messages over
        the measured wall time of the whole process; CPU and RSS are measured outside."""
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


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("set", choices=("sqs-client", "pipeline", "all"))
    p.add_argument("--smoke", action="store_true", help="2,000 messages per run instead of 9,000/100,000")
    p.add_argument("--drain-cmd", help="command template of the C++ receive+delete tool (issue 3)")
    p.add_argument("--sqs2pg-cmd", help="command template of sqs2pg in drain mode (issue 6)")
    p.add_argument("--sqs2pg", nargs=2, action="append", metavar=("NAME", "TEMPLATE"),
                   help="pipeline: another sqs2pg build, labelled NAME (repeatable: e.g. "
                        "before and after a change, in one session)")
    p.add_argument("--repeat", type=int, default=1,
                   help="pipeline: run each sqs2pg build this many times, interleaved")
    p.add_argument("--no-baselines", action="store_true",
                   help="pipeline: skip the Python baselines (compare sqs2pg builds only)")
    p.add_argument("--malformed-fraction", type=float, default=0.0,
                   help="fraction of malformed messages loaded (default 0)")
    args = p.parse_args()
    for need in (VENV_PY, os.path.join(BENCH, "node_modules")):
        if not os.path.exists(need):
            sys.exit(f"run_figures: {need} missing: run bench/setup")

    runner = Runner(args)
    base_env = dict(os.environ)
    services_dir = None
    try:
        if args.set in ("pipeline", "all") and not base_env.get("DATABASE_URL"):
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
    finally:
        if services_dir:
            subprocess.run([os.path.join(ROOT, "scripts", "services"), "stop"], env=base_env, check=False)
            shutil.rmtree(services_dir, ignore_errors=True)
        runner.table()
    return 0 if all(r["measure"].get("exit_code") == 0 for r in runner.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
