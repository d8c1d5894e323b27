#!/usr/bin/env python3
"""The docker suite: the container image built from this repository and run for real.

Starts a private Docker engine (scripts/docker-engine: its own containerd and dockerd,
private sockets, no iptables, no bridge), makes debian:12-slim offline from Debian's
mirror (mmdebstrap), builds compose/Dockerfile with the git revision as build argument,
and checks:
  - the image is at most 30 MB and runs as a numeric non-root user; it holds no shell
    and no package manager (its file list is printed);
  - `--version` prints the version and the revision passed in;
  - `keygen --out` writes a 0600 key owned by that user (uid 65532) into a mounted
    directory, and a root-only key file is refused (the container cannot read it);
  - `--drain` with host networking, against the PostgreSQL and moto that tests/run
    starts: the sample (100 messages, one malformed) into a fresh queue gives exit 0,
    99 rows and 1 reject in a fresh schema, an empty queue, and the summary says so;
    SQS is addressed as `localhost` (name resolution inside the image), PostgreSQL as
    127.0.0.1, and `rejects list` reaches PostgreSQL as `localhost`.
Then it removes the containers and the image, stops the engine and deletes its files,
the queue and the schema. Anything missing (docker.io, mmdebstrap, the services) is a
failure, not a skip. Prints one figure line: image size, build time, total time.

SQS2PG_DOCKER_BASE_TARBALL=FILE reuses (or keeps) the mmdebstrap tarball; without it the
base is made afresh and deleted.
"""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid

import psycopg2

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCKER = "/usr/bin/docker"  # Debian's client; a newer one elsewhere on PATH may want buildx
MAX_IMAGE_BYTES = 30_000_000  # 30 MB, as `docker images` counts
UID = 65532
SAMPLE = os.path.join(ROOT, "tests", "data", "sample_data.json")
T0 = time.monotonic()


class Failure(Exception):
    pass


def log(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def run(cmd, env=None, check=True, timeout=600, input=None):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise Failure(f"{' '.join(cmd)} exited {p.returncode}\nstdout: {p.stdout[-3000:]}\nstderr: {p.stderr[-3000:]}")
    return p


def need_env(*names):
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise Failure(f"{', '.join(missing)} not set: run this suite through tests/run "
                      "(it starts PostgreSQL and moto and exports them)")
    return [os.environ[n] for n in names]


def sqs_call(endpoint, url, form, key, secret, region):
    """A signed SQS query call with curl, as scripts/services makes them."""
    p = run(["curl", "-sS", "--fail-with-body", "--max-time", "30", url,
             "--aws-sigv4", f"aws:amz:{region}:sqs", "--user", f"{key}:{secret}",
             "-H", "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
             "--data-binary", form + "&Version=2012-11-05"])
    return p.stdout


def xml_value(tag, text):
    m = re.search(f"<{tag}>([^<]*)</{tag}>", text)
    return m.group(1) if m else None


class Engine:
    """scripts/docker-engine in a run dir of its own."""

    def __init__(self, workdir):
        self.env = dict(os.environ)
        self.env["SQS2PG_RUN_DIR"] = os.path.join(workdir, "engine-run")
        self.env["SQS2PG_DOCKER_NICE"] = os.environ.get("SQS2PG_DOCKER_NICE", "10")
        self.env["DOCKER_BUILDKIT"] = "0"
        self.script = os.path.join(ROOT, "scripts", "docker-engine")
        self.started = False

    def start(self):
        self.started = True
        p = run([self.script, "start"], env=self.env, timeout=120)
        for line in p.stdout.splitlines():
            m = re.match(r"export (\w+)=(.*)$", line)
            if m:
                self.env[m.group(1)] = m.group(2)
        sys.stdout.write(p.stderr)
        if not self.env.get("DOCKER_HOST"):
            raise Failure("docker-engine start printed no DOCKER_HOST")

    def stop(self):
        if self.started:
            p = run([self.script, "stop"], env=self.env, check=False, timeout=120)
            sys.stdout.write(p.stderr)

    def docker(self, *args, check=True, timeout=600):
        return run([DOCKER, *args], env=self.env, check=check, timeout=timeout)


def image_files(engine, image):
    """The image's file list (docker export of a created container), as tar lists it."""
    cid = engine.docker("create", image).stdout.strip()
    try:
        p = subprocess.run(f"{DOCKER} export {cid} | tar -tvf -", shell=True, env=engine.env,
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise Failure(f"docker export failed: {p.stderr}")
        return p.stdout.splitlines()
    finally:
        engine.docker("rm", "-f", cid, check=False)


def main():
    for tool in (DOCKER, "dockerd", "containerd", "runc", "mmdebstrap", "curl", "git"):
        if not shutil.which(tool):
            raise Failure(f"{tool} not found: run scripts/install-deps (packages docker.io, mmdebstrap)")
    if os.geteuid() != 0:
        raise Failure("needs root (dockerd does)")
    pg, endpoint, key, secret, region, binary = need_env(
        "SQS2PG_TEST_PG", "SQS2PG_TEST_SQS_ENDPOINT", "SQS2PG_TEST_AWS_ACCESS_KEY_ID",
        "SQS2PG_TEST_AWS_SECRET_ACCESS_KEY", "SQS2PG_TEST_AWS_REGION", "SQS2PG_E2E_BINARY")
    m = re.match(r"http://127\.0\.0\.1:(\d+)$", endpoint)
    if not m:
        raise Failure(f"unexpected SQS endpoint {endpoint}")
    sqs_port = m.group(1)
    pg_dsn = psycopg2.extensions.parse_dsn(pg)

    suffix = uuid.uuid4().hex[:10]
    tag = f"sqs2pg-docker-test:{suffix}"
    schema = f"docker_{suffix}"
    queue = f"docker-{suffix}"
    workdir = tempfile.mkdtemp(prefix="sqs2pg-docker-test.")
    engine = Engine(workdir)
    queue_url = None
    db = None
    figures = {}
    try:
        # --- the engine and the base image ------------------------------------------------
        engine.start()
        tarball = os.environ.get("SQS2PG_DOCKER_BASE_TARBALL") or os.path.join(workdir, "base.tar")
        t = time.monotonic()
        p = run([engine.script, "base-image", tarball], env=engine.env, timeout=900)
        sys.stdout.write(p.stderr)
        figures["base_s"] = time.monotonic() - t
        log(f"base image debian:12-slim ready in {figures['base_s']:.0f} s")

        # --- the build ----------------------------------------------------------------------
        rev = run(["git", "-C", ROOT, "describe", "--always", "--dirty", "--tags"], check=False)
        revision = rev.stdout.strip() if rev.returncode == 0 and rev.stdout.strip() else f"test-{suffix}"
        t = time.monotonic()
        p = engine.docker("build", "--network", "host", "--force-rm", "-f", os.path.join(ROOT, "compose", "Dockerfile"),
                          "--build-arg", f"SQS2PG_REVISION={revision}", "-t", tag, ROOT,
                          check=False, timeout=1500)
        figures["build_s"] = time.monotonic() - t
        if p.returncode != 0:
            raise Failure(f"docker build failed ({p.returncode}):\n{p.stdout[-6000:]}\n{p.stderr[-3000:]}")
        log(f"built {tag} in {figures['build_s']:.0f} s (revision {revision})")

        # --- size, user, layout -------------------------------------------------------------
        info = json.loads(engine.docker("image", "inspect", tag).stdout)[0]
        size = int(info["Size"])
        figures["size"] = size
        user = info["Config"].get("User") or ""
        log(f"image size {size} bytes ({size / 1e6:.1f} MB), user {user!r}, "
            f"entrypoint {info['Config'].get('Entrypoint')}")
        files = image_files(engine, tag)
        print("image files:\n  " + "\n  ".join(files), flush=True)
        names = [line.split()[-1] if " -> " not in line else line.split()[-3] for line in files]
        errors = []
        if size > MAX_IMAGE_BYTES:
            errors.append(f"image is {size} bytes, more than {MAX_IMAGE_BYTES}")
        if user != f"{UID}:{UID}":
            errors.append(f"image user is {user!r}, expected {UID}:{UID}")
        for forbidden in ("bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/apt-get", "usr/bin/dpkg"):
            if forbidden in names:
                errors.append(f"image holds {forbidden}")
        for needed in ("usr/local/bin/sqs2pg", "etc/ssl/certs/ca-certificates.crt", "etc/passwd",
                       "usr/lib/ssl/cert.pem"):
            if needed not in names:
                errors.append(f"image lacks {needed}")
        if errors:
            raise Failure("; ".join(errors))
        p = engine.docker("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", tag, "-c", "true",
                          check=False)
        if p.returncode == 0:
            raise Failure("/bin/sh ran in the image")

        # --- --version ----------------------------------------------------------------------
        native = run([binary, "--version"]).stdout.strip()
        version = native.split()[1]
        inside = engine.docker("run", "--rm", "--network", "none", tag, "--version").stdout.strip()
        log(f"--version: native {native!r}, image {inside!r}")
        if inside != f"sqs2pg {version} ({revision})":
            raise Failure(f"image --version says {inside!r}, expected 'sqs2pg {version} ({revision})'")

        # --- keys: written as the image's user, a root-only file refused ---------------------
        keydir = os.path.join(workdir, "keys")
        os.mkdir(keydir)
        os.chown(keydir, UID, UID)
        engine.docker("run", "--rm", "--network", "none", "-v", f"{keydir}:/keys", tag,
                      "keygen", "--out", "/keys/mask.keys")
        st = os.stat(os.path.join(keydir, "mask.keys"))
        log(f"keygen --out in the container: uid {st.st_uid}, mode {stat.S_IMODE(st.st_mode):04o}")
        if st.st_uid != UID or stat.S_IMODE(st.st_mode) != 0o600:
            raise Failure(f"key file owned by {st.st_uid} with mode {stat.S_IMODE(st.st_mode):04o}, "
                          f"expected {UID} and 0600")
        rootkey = os.path.join(workdir, "root.keys")
        shutil.copy(os.path.join(keydir, "mask.keys"), rootkey)
        os.chown(rootkey, 0, 0)
        os.chmod(rootkey, 0o600)
        p = engine.docker("run", "--rm", "--network", "none", "-v", f"{rootkey}:/root.keys:ro", tag,
                          "--queue-url", "http://127.0.0.1:9/000000000000/q", "--pg", "host=127.0.0.1",
                          "--mask-key-file", "/root.keys", "--drain", check=False)
        log(f"a root-only key file: exit {p.returncode}, {p.stderr.strip()!r}")
        if p.returncode != 2 or "/root.keys" not in p.stderr:
            raise Failure("a root-only key file was not refused as unreadable: the container may run as root")

        # --- the drain ----------------------------------------------------------------------
        db = psycopg2.connect(pg)
        db.autocommit = True
        with db.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {schema}")
        queue_url = xml_value("QueueUrl", sqs_call(endpoint, endpoint + "/", f"Action=CreateQueue&QueueName={queue}",
                                                   key, secret, region))
        if not queue_url:
            raise Failure("CreateQueue gave no QueueUrl")
        p = run([os.environ.get("SQS2PG_TEST_SERVICES", os.path.join(ROOT, "scripts", "services")),
                 "load-sample", queue_url])
        sys.stdout.write(p.stderr)
        env = dict(engine.env)
        env.update({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret})
        t = time.monotonic()
        p = run([DOCKER, "run", "--rm", "--network", "host", "--name", f"sqs2pg-drain-{suffix}",
                 "-e", "AWS_ACCESS_KEY_ID", "-e", "AWS_SECRET_ACCESS_KEY", "-e", f"AWS_REGION={region}",
                 "-v", f"{keydir}/mask.keys:/keys/mask.keys:ro", tag,
                 "--queue-url", queue_url, "--endpoint-url", f"http://localhost:{sqs_port}",
                 "--pg", pg, "--table", f"{schema}.user_logins", "--mask-key-file", "/keys/mask.keys",
                 "--drain", "--receivers", "1", "--log-format", "json"],
                env=env, check=False, timeout=300)
        figures["drain_s"] = time.monotonic() - t
        sys.stdout.write("drain stderr (last lines):\n" + "\n".join(p.stderr.splitlines()[-5:]) + "\n")
        log(f"drain in the container: exit {p.returncode} in {figures['drain_s']:.1f} s; summary {p.stdout.strip()}")
        if p.returncode != 0:
            raise Failure(f"the drain exited {p.returncode}:\n{p.stderr[-3000:]}")
        lines = p.stdout.strip().splitlines()
        if len(lines) != 1:
            raise Failure(f"expected one summary line, got {lines}")
        summary = json.loads(lines[0])
        with db.cursor() as cur:
            cur.execute(f"SELECT count(*), count(DISTINCT user_id) FROM {schema}.user_logins")
            rows, users = cur.fetchone()
            cur.execute(f"SELECT count(*), min(reason) FROM {schema}.sqs2pg_rejects")
            rejects, reason = cur.fetchone()
        attrs = sqs_call(endpoint, queue_url, "Action=GetQueueAttributes&AttributeName.1=All", key, secret, region)
        left = sum(int(v) for v in re.findall(
            r"<Name>ApproximateNumberOfMessages(?:NotVisible|Delayed)?</Name><Value>(\d+)</Value>", attrs))
        log(f"rows {rows} ({users} users), rejects {rejects} ({reason}), messages left {left}")
        expected = {"received": 100, "inserted": 99, "rejected": 1, "deleted": 100}
        wrong = {k: summary.get(k) for k in expected if summary.get(k) != expected[k]}
        if rows != 99 or rejects != 1 or reason != "missing_field" or left != 0 or wrong:
            raise Failure(f"after the drain: rows {rows} (99), rejects {rejects} (1, missing_field: {reason}), "
                          f"messages left {left} (0), summary fields off: {wrong}")

        # libpq inside the image resolving a host name.
        by_name = pg.replace("@127.0.0.1:", "@localhost:")
        if by_name == pg:
            raise Failure(f"cannot make a localhost URL of {pg}")
        p = run([DOCKER, "run", "--rm", "--network", "host", tag, "rejects", "list",
                 "--pg", by_name, "--table", f"{schema}.user_logins", "--format", "json"], env=env)
        listed = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        log(f"rejects list via localhost: {[(r['reason'], r['receive_count']) for r in listed]}")
        if len(listed) != 1 or listed[0]["reason"] != "missing_field":
            raise Failure(f"rejects list gave {p.stdout!r}")

        total = time.monotonic() - T0
        print(f"figure: image {size / 1e6:.1f} MB (limit {MAX_IMAGE_BYTES / 1e6:.0f} MB), "
              f"build {figures['build_s']:.0f} s, base image {figures['base_s']:.0f} s, "
              f"drain {figures['drain_s']:.1f} s, suite {total:.0f} s", flush=True)
    finally:
        if engine.started:
            engine.docker("rm", "-f", f"sqs2pg-drain-{suffix}", check=False)
            engine.docker("rmi", "-f", tag, check=False)
        engine.stop()  # and with it the engine's data root: the base and build-stage images
        if queue_url:
            try:
                sqs_call(endpoint, queue_url, "Action=DeleteQueue", key, secret, region)
            except Failure as e:
                print(f"cleanup: {e}")
        if db is not None:
            with db.cursor() as cur:
                cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            db.close()
        shutil.rmtree(workdir, ignore_errors=True)


def on_signal(signum, _frame):
    raise Failure(f"stopped by signal {signum}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        main()
    except (Failure, subprocess.TimeoutExpired) as e:
        print(f"docker suite FAILED: {e}", flush=True)
        sys.exit(1)
    print("docker suite passed", flush=True)
