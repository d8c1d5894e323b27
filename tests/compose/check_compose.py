#!/usr/bin/env python3
"""Structural check of compose/ without a Docker engine: the compose file parses as
YAML, has the three services wired as documented, publishes ports on loopback only,
and every file it mounts or builds from exists; it has no top-level `name:` (Debian's
docker-compose 1.29 refuses it) and `docker-compose config` accepts it where that is
installed (scripts/install-deps --docker); LocalStack gives the original queue URL; the
Dockerfile builds only the binary, with the revision, into a scratch runtime stage that
runs as a numeric non-root user. (The docker suite builds and runs the image for real.)"""
import os
import shutil
import subprocess
import sys

import yaml

root = sys.argv[1]
compose_dir = os.path.join(root, "compose")
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


with open(os.path.join(compose_dir, "docker-compose.yml"), encoding="utf-8") as f:
    doc = yaml.safe_load(f)

services = doc.get("services", {})
check(set(services) == {"localstack", "postgres", "sqs2pg"}, f"services: {sorted(services)}")
for name, svc in services.items():
    for port in svc.get("ports", []):
        check(str(port).startswith("127.0.0.1:"), f"{name}: port {port} not bound to loopback")
    for vol in svc.get("volumes", []):
        src = vol.split(":", 1)[0]
        check(os.path.exists(os.path.join(compose_dir, src)), f"{name}: missing mount source {src}")
check("4566:4566" in " ".join(services.get("localstack", {}).get("ports", [])), "LocalStack SQS not on 4566")
app = services.get("sqs2pg", {})
build = app.get("build", {})
dockerfile = os.path.join(compose_dir, build.get("context", "."), build.get("dockerfile", "Dockerfile"))
check(os.path.isfile(dockerfile), f"sqs2pg: Dockerfile {dockerfile} missing")
for dep in ("localstack", "postgres"):
    cond = app.get("depends_on", {}).get(dep, {}).get("condition")
    check(cond == "service_healthy", f"sqs2pg must wait for a healthy {dep}")
    check("healthcheck" in services.get(dep, {}), f"{dep} has no healthcheck")
env = app.get("environment", {})
check(env.get("AWS_ENDPOINT_URL_SQS") == "http://localstack:4566", "sqs2pg not pointed at LocalStack")
check(str(env.get("DATABASE_URL", "")).startswith("postgresql://"), "sqs2pg has no DATABASE_URL")
check("name" not in doc, "top-level name: is refused by docker-compose 1.29")
ls_env = services.get("localstack", {}).get("environment", {})
check(str(ls_env.get("SQS_ENDPOINT_STRATEGY")) == "off" and ls_env.get("LOCALSTACK_HOST") == "localhost:4566",
      "LocalStack 3 needs SQS_ENDPOINT_STRATEGY=off and LOCALSTACK_HOST=localhost:4566 "
      "for the original queue URL")
check(env.get("SQS2PG_QUEUE_URL") == "http://localhost:4566/000000000000/login-queue",
      f"sqs2pg queue URL: {env.get('SQS2PG_QUEUE_URL')}")
args = build.get("args", {})
check("SQS2PG_REVISION" in args, "the compose build passes no SQS2PG_REVISION")
with open(os.path.join(compose_dir, "docker-compose.yml"), encoding="utf-8") as f:
    check("--no-deps" in f.read(), "the keygen hint lacks --no-deps")
compose_bin = shutil.which("docker-compose")
if compose_bin:
    p = subprocess.run([compose_bin, "-f", os.path.join(compose_dir, "docker-compose.yml"), "config", "-q"],
                       capture_output=True, text=True, env={**os.environ, "SQS2PG_MASK_KEY": "x"})
    check(p.returncode == 0, f"docker-compose config: {p.stderr.strip()}")
else:
    print("compose check: docker-compose not installed, its own parse skipped")
with open(os.path.join(root, "scripts", "sql", "user_logins.sql"), encoding="utf-8") as f:
    check("CREATE TABLE IF NOT EXISTS user_logins" in f.read(), "DDL file lost its table")
if os.path.isfile(dockerfile):
    with open(dockerfile, encoding="utf-8") as f:
        stages = [l.split() for l in f if l.startswith("FROM ")]
    check(len(stages) == 2 and stages[0][-1] == "build", f"Dockerfile stages: {stages}")
    check(len(stages) == 2 and stages[1][1] == "scratch", f"runtime stage not from scratch: {stages}")
    with open(dockerfile, encoding="utf-8") as f:
        text = f.read()
    users = [l.split()[1] for l in text.splitlines() if l.startswith("USER ")]
    check(len(users) == 1 and users[0].split(":")[0].isdigit() and users[0].split(":")[0] != "0",
          f"runtime USER must be numeric and not root: {users}")
    for needed in ("-Dtests=false", "-Dbench=false", "--buildtype=release", "-Drevision=", "apt-get clean"):
        check(needed in text, f"Dockerfile lacks {needed}")
    check(os.path.isfile(os.path.join(root, ".dockerignore")), ".dockerignore missing")

for e in errors:
    print("compose check:", e)
sys.exit(1 if errors else 0)
