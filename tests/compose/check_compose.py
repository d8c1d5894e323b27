#!/usr/bin/env python3
"""Structural check of compose/ without a Docker engine: the compose file parses as
YAML, has the three services wired as documented, publishes ports on loopback only,
and every file it mounts or builds from exists; the Dockerfile has both stages."""
import os
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
with open(os.path.join(root, "scripts", "sql", "user_logins.sql"), encoding="utf-8") as f:
    check("CREATE TABLE IF NOT EXISTS user_logins" in f.read(), "DDL file lost its table")
if os.path.isfile(dockerfile):
    with open(dockerfile, encoding="utf-8") as f:
        stages = [l.split() for l in f if l.startswith("FROM ")]
    check(len(stages) == 2 and stages[0][-1] == "build", f"Dockerfile stages: {stages}")
    check(os.path.isfile(os.path.join(root, ".dockerignore")), ".dockerignore missing")

for e in errors:
    print("compose check:", e)
sys.exit(1 if errors else 0)
