#!/usr/bin/env python3
"""Checks the deploy recipe (deploy/) against the binary and the code it deploys.

Every manifest and policy must parse; every flag and environment variable a container
is given must be one `sqs2pg --help` lists (AWS's own credential variables: one
docs/aws-http.md documents and the binary contains); each container's configuration,
placeholders filled in, must be accepted by the built binary (it is run against a fake
SQS endpoint that says the queue does not exist: exit 1 with that error means every
value parsed, exit 2 would be bad configuration); the shutdown, probe, sizing and
scaling numbers must agree with the code and the measured figures they are derived
from; the IAM policies must be least privilege (no wildcard actions, wildcard resources
only where AWS allows nothing narrower) and cover exactly the SQS calls the pipeline
makes.

usage: check_deploy.py SOURCE_ROOT SQS2PG_BINARY
"""
import fnmatch
import http.server
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import threading
from urllib.parse import urlparse

import yaml

ROOT = sys.argv[1]
BINARY = sys.argv[2]
DEPLOY = os.path.join(ROOT, "deploy")

passed = 0
errors = []


def check(cond, msg):
    global passed
    if cond:
        passed += 1
    else:
        errors.append(msg)
    return cond


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


# --- what the binary and the code say -------------------------------------------------

HELP = subprocess.run([BINARY, "--help"], capture_output=True, text=True, check=True).stdout
HELP_FLAGS = set(re.findall(r"--([a-z][a-z0-9-]*)", HELP))
HELP_ENV = set(re.findall(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b", HELP))
# Options that take a value: "  --name METAVAR" lines.
VALUE_FLAGS = {m.group(1) for m in re.finditer(r"^  --([a-z-]+) \S", HELP, re.M)}
COMMANDS = set(re.findall(r"^  ([a-z]+)\s{2,}", HELP.split("Commands:", 1)[1].split("\n\n", 1)[0], re.M))
DEFAULTS = {m.group(1): m.group(2) for m in re.finditer(
    r"^  --([a-z-]+)[^\n]*\n(?:      [^\n]*\n)*?      default: ([^\n]*)$", HELP, re.M)}
with open(BINARY, "rb") as f:
    BINARY_BYTES = f.read()
AWS_HTTP_DOC = read("docs", "aws-http.md")
OPERATIONS_DOC = read("docs", "operations.md")
PERFORMANCE_DOC = read("docs", "performance.md")
PIPELINE_HPP = read("include", "sqs2pg", "flow", "pipeline.hpp")


def code_constant(pattern, text, what):
    m = re.search(pattern, text)
    check(m is not None, f"cannot find {what} in the code")
    return int(m.group(1)) if m else 0


GRACE = code_constant(r"shutdown_grace\{(\d+)\}", PIPELINE_HPP, "pipeline_config::shutdown_grace")
SETTLE = code_constant(r"settle_timeout\{(\d+)\}", PIPELINE_HPP, "pipeline_config::settle_timeout")
BATCHES_IN_FLIGHT = code_constant(r"max_batches_in_flight = (\d+)", PIPELINE_HPP,
                                  "pipeline_config::max_batches_in_flight")
MAX_RECEIVE = 10  # SQS returns at most 10 messages per receive
MAX_MESSAGE = 256 * 1024  # SQS's standard MaximumMessageSize

# docs/performance.md, "The whole job": sqs2pg's rows (msgs/s, CPU us/msg, RSS MiB).
PERF = []
for line in PERFORMANCE_DOC.splitlines():
    if line.startswith("| sqs2pg,"):
        cells = [c.strip().replace(",", "") for c in line.strip("|").split("|")]
        PERF.append({"msgs": float(cells[2]), "cpu_us": float(cells[4]), "rss_mib": float(cells[5])})
check(len(PERF) >= 2, f"docs/performance.md: expected sqs2pg pipeline rows, found {len(PERF)}")
PEAK_RSS_MIB = max((p["rss_mib"] for p in PERF), default=0)
FULL_SPEED_CPU = max((p["msgs"] * p["cpu_us"] / 1e6 for p in PERF), default=0)
LOW_MSGS = min((p["msgs"] for p in PERF), default=0)


def size_bytes(text):
    m = re.fullmatch(r"(\d+)\s*([KMG]i?B?|B)?", text.strip(), re.I)
    if not m:
        return None
    unit = (m.group(2) or "B").upper()
    mult = {"B": 1, "K": 1024, "KI": 1024, "KIB": 1024, "M": 1 << 20, "MI": 1 << 20,
            "MIB": 1 << 20, "G": 1 << 30, "GI": 1 << 30, "GIB": 1 << 30,
            "KB": 1000, "MB": 10**6, "GB": 10**9}
    return int(m.group(1)) * mult[unit] if unit in mult else None


def k8s_quantity(q):
    q = str(q)
    if q.endswith("m"):
        return float(q[:-1]) / 1000
    b = size_bytes(q)
    return float(b) if b is not None else float(q)


# --- load everything -------------------------------------------------------------------

docs = {}  # path relative to deploy/ -> list of documents
for dirpath, _, files in os.walk(DEPLOY):
    for name in sorted(files):
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, DEPLOY)
        try:
            with open(path, encoding="utf-8") as f:
                if name.endswith((".yaml", ".yml")):
                    docs[rel] = [d for d in yaml.safe_load_all(f) if d is not None]
                elif name.endswith(".json"):
                    docs[rel] = [json.load(f)]
                elif name != "README.md":
                    check(False, f"{rel}: unexpected file type in deploy/")
        except (yaml.YAMLError, json.JSONDecodeError) as e:
            check(False, f"{rel}: does not parse: {e}")
        else:
            check(True, "")
check(len(docs) >= 15, f"deploy/: expected the recipe's files, found {sorted(docs)}")

k8s = [(rel, d) for rel, ds in docs.items() if rel.startswith("kubernetes/") for d in ds]


def k8s_one(kind, name=None):
    found = [d for _, d in k8s if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]
    check(len(found) == 1, f"kubernetes/: expected one {kind} {name or ''}, found {len(found)}")
    return found[0] if found else {}


for rel, d in k8s:
    if d.get("kind") != "Kustomization":
        check(d.get("metadata", {}).get("namespace", "sqs2pg") == "sqs2pg" or d.get("kind") == "Namespace",
              f"{rel}: {d.get('kind')} outside the sqs2pg namespace")

kustomization = k8s_one("Kustomization")
manifests = sorted(os.path.basename(r) for r in docs if r.startswith("kubernetes/") and not r.endswith("kustomization.yaml"))
check(sorted(kustomization.get("resources", [])) == manifests,
      f"kustomization.yaml resources {kustomization.get('resources')} != the manifests {manifests}")

deployment = k8s_one("Deployment", "sqs2pg")
configmap = k8s_one("ConfigMap", "sqs2pg")
CM = configmap.get("data", {})
pod = deployment.get("spec", {}).get("template", {}).get("spec", {})
pod_labels = deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
containers = pod.get("containers", [])
check(len(containers) == 1, "the Deployment should run one container (sqs2pg)")
container = containers[0] if containers else {}

taskdef = docs.get("ecs/task-definition.json", [{}])[0]
ecs_containers = taskdef.get("containerDefinitions", [])
check(len(ecs_containers) == 1, "the task definition should run one container (sqs2pg)")
ecs_container = ecs_containers[0] if ecs_containers else {}


# --- flags and variables ---------------------------------------------------------------

def check_args(where, args):
    """The container's arguments: an optional command, then options sqs2pg --help lists."""
    flags = {}
    rest = list(args)
    if rest and not rest[0].startswith("-"):
        check(rest[0] in COMMANDS, f"{where}: '{rest[0]}' is not a command of sqs2pg --help")
        check(rest[0] == "run", f"{where}: the consumer runs 'run', not '{rest[0]}'")
        rest = rest[1:]
    i = 0
    while i < len(rest):
        token = rest[i]
        if not check(token.startswith("--"), f"{where}: unexpected argument '{token}'"):
            i += 1
            continue
        name, eq, value = token[2:].partition("=")
        check(name in HELP_FLAGS, f"{where}: --{name} is not in sqs2pg --help")
        if name in VALUE_FLAGS and not eq:
            i += 1
            value = rest[i] if i < len(rest) else ""
        if name in VALUE_FLAGS:
            check(value != "", f"{where}: --{name} has no value")
        flags[name] = value
        i += 1
    return flags


def check_env_name(where, name):
    if name.startswith("SQS2PG_"):
        check(name in HELP_ENV, f"{where}: {name} is not in sqs2pg --help")
    elif name.startswith("AWS_"):
        documented = re.search(rf"`{name}[`=]", AWS_HTTP_DOC) is not None
        check(name in HELP_ENV or (documented and name.encode() in BINARY_BYTES),
              f"{where}: {name} is neither in sqs2pg --help nor a credentials-chain variable "
              "docs/aws-http.md documents and the binary reads")
    else:
        check(False, f"{where}: {name}: only sqs2pg's (SQS2PG_*) and AWS's (AWS_*) variables")


SECRET_VARS = {"SQS2PG_PG", "DATABASE_URL", "SQS2PG_MASK_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

for key in CM:
    check_env_name("configmap.yaml", key)
    check(key not in SECRET_VARS, f"configmap.yaml: {key} is secret: it belongs in a Secret")

k8s_command = container.get("command", [])
check(not k8s_command, "deployment.yaml: keep the image's entrypoint (no command)")
k8s_flags = check_args("deployment.yaml args", container.get("args", []))
k8s_env = {}  # name -> value (None for a secret)
for src in container.get("envFrom", []):
    check("configMapRef" in src and src["configMapRef"].get("name") == "sqs2pg",
          f"deployment.yaml: envFrom {src}: only the sqs2pg ConfigMap (a Secret's keys would be unchecked)")
    k8s_env.update(CM)
for e in container.get("env", []):
    name = e["name"]
    check_env_name("deployment.yaml", name)
    if name in SECRET_VARS:
        check("secretKeyRef" in e.get("valueFrom", {}), f"deployment.yaml: {name} must come from a secretKeyRef")
        k8s_env[name] = None
    else:
        check("value" in e, f"deployment.yaml: {name}: a literal value expected")
        k8s_env[name] = e.get("value")

check(ecs_container.get("entryPoint") is None, "task-definition.json: keep the image's entrypoint")
ecs_flags = check_args("task-definition.json command", ecs_container.get("command", []))
ecs_env = {}
for e in ecs_container.get("environment", []):
    check_env_name("task-definition.json environment", e["name"])
    check(e["name"] not in SECRET_VARS, f"task-definition.json: {e['name']} must be in secrets, not environment")
    ecs_env[e["name"]] = e["value"]
for e in ecs_container.get("secrets", []):
    check_env_name("task-definition.json secrets", e["name"])
    check(e["valueFrom"].startswith("arn:aws:secretsmanager:"), f"task-definition.json: {e['name']} from Secrets Manager")
    ecs_env[e["name"]] = None
check(ecs_flags == k8s_flags, f"the ECS command {ecs_flags} and the Kubernetes args {k8s_flags} differ")
check(ecs_env.keys() == k8s_env.keys(), f"ECS variables {sorted(ecs_env)} != Kubernetes variables {sorted(k8s_env)}")
for name in ("SQS2PG_QUEUE_URL", "SQS2PG_REGION", "SQS2PG_DEAD_LETTER_QUEUE_URL"):
    check(ecs_env.get(name) == k8s_env.get(name), f"{name}: ECS and Kubernetes name different values")
check(k8s_env.get("AWS_EC2_METADATA_DISABLED") == "true",
      "deployment.yaml: AWS_EC2_METADATA_DISABLED=true (no falling back to the node's role)")
for name in ("SQS2PG_PG", "SQS2PG_MASK_KEY"):
    check(name in k8s_env and k8s_env[name] is None, f"deployment.yaml: {name} from the Secret expected")


# --- the binary accepts each configuration ---------------------------------------------

class FakeSqs(http.server.BaseHTTPRequestHandler):
    """Says the queue does not exist, in the protocol it was asked in."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if "json" in self.headers.get("Content-Type", ""):
            body = json.dumps({"__type": "com.amazonaws.sqs#QueueDoesNotExist",
                               "message": "The specified queue does not exist."}).encode()
            ctype, extra = "application/x-amz-json-1.0", ("x-amzn-query-error",
                                                          "AWS.SimpleQueueService.NonExistentQueue;Sender")
        else:
            body = (b'<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
                    b"<Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>"
                    b"<Message>The specified queue does not exist.</Message><Detail/></Error>"
                    b"<RequestId>check-deploy</RequestId></ErrorResponse>")
            ctype, extra = "text/xml", None
        self.send_response(400)
        self.send_header("Content-Type", ctype)
        if extra:
            self.send_header(*extra)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeSqs)
threading.Thread(target=server.serve_forever, daemon=True).start()
ENDPOINT = f"http://127.0.0.1:{server.server_address[1]}"
PLACEHOLDERS = {"REGION": "eu-west-1", "ACCOUNT_ID": "123456789012"}


def fill(value):
    for k, v in PLACEHOLDERS.items():
        value = re.sub(rf"\b{k}\b", v, value)
    return value


tmp = tempfile.mkdtemp(prefix="check-deploy-")
keyring = subprocess.run([BINARY, "keygen"], capture_output=True, text=True, check=True).stdout
SECRET_VALUES = {"SQS2PG_PG": "host=127.0.0.1 port=1 dbname=analytics user=sqs2pg_writer sslmode=disable",
                 "SQS2PG_MASK_KEY": keyring}


def run_binary(args, env, timeout=30):
    base = {"PATH": "/usr/bin:/bin", "HOME": tmp, "AWS_ACCESS_KEY_ID": "AKIDCHECKDEPLOY",
            "AWS_SECRET_ACCESS_KEY": "check-deploy-secret"}
    base.update(env)
    return subprocess.run([BINARY] + args, env=base, capture_output=True, text=True, timeout=timeout)


def check_accepted(where, args, env):
    filled = {k: fill(v) if v is not None else SECRET_VALUES.get(k, "x") for k, v in env.items()}
    r = run_binary([fill(a) for a in args] + [f"--endpoint-url={ENDPOINT}"], filled)
    queue = filled.get("SQS2PG_QUEUE_URL", "")
    ok = r.returncode == 1 and "GetQueueAttributes" in r.stderr and queue in r.stderr
    check(ok, f"{where}: the binary did not accept the configuration (exit {r.returncode}; "
              f"expected 1 with the fake endpoint's 'queue does not exist'):\n{r.stderr[-800:]}")


check_accepted("deployment.yaml", container.get("args", []), k8s_env)
check_accepted("task-definition.json", ecs_container.get("command", []), ecs_env)

# The masking key as a file: what a Secret volume with fsGroup makes of defaultMode 0400
# (0440, group-readable) is refused, which is why the recipe passes SQS2PG_MASK_KEY.
key_file = os.path.join(tmp, "mask.keys")
with open(key_file, "w", encoding="utf-8") as f:
    f.write(keyring)
base_args = ["run", f"--queue-url=https://sqs.eu-west-1.amazonaws.com/123456789012/login-queue",
             f"--endpoint-url={ENDPOINT}", f"--mask-key-file={key_file}"]
pg_env = {"SQS2PG_PG": SECRET_VALUES["SQS2PG_PG"]}
os.chmod(key_file, 0o440)
r = run_binary(base_args, pg_env)
check(r.returncode == 2 and "readable by group" in r.stderr,
      f"a 0440 key file should be refused with exit 2 (got {r.returncode}: {r.stderr.strip()[:200]})")
os.chmod(key_file, 0o400)
r = run_binary(base_args, pg_env)
check(r.returncode == 1 and "GetQueueAttributes" in r.stderr,
      f"a 0400 key file should load (got {r.returncode}: {r.stderr.strip()[:200]})")
os.chmod(key_file, stat.S_IRUSR | stat.S_IWUSR)
os.unlink(key_file)
os.rmdir(tmp)
server.shutdown()


# --- the Deployment --------------------------------------------------------------------

check("replicas" not in deployment.get("spec", {}), "deployment.yaml: no spec.replicas: the HPA owns the count")
tgps = pod.get("terminationGracePeriodSeconds", 30)
check(tgps >= GRACE + SETTLE + 10,
      f"terminationGracePeriodSeconds {tgps} must exceed the {GRACE} s grace + {SETTLE} s settle, with margin")
stop_timeout = ecs_container.get("stopTimeout", 30)
check(GRACE + SETTLE + 10 <= stop_timeout <= 120,
      f"stopTimeout {stop_timeout}: above {GRACE}+{SETTLE} s with margin, at most ECS's 120 s")

listen = k8s_flags.get("listen", "")
host, _, port = listen.rpartition(":")
check(host in ("0.0.0.0", "[::]"), f"--listen {listen}: the kubelet probes the pod's address, not loopback")
ports = {p.get("name"): p.get("containerPort") for p in container.get("ports", [])}
check(str(ports.get("ops")) == port, f"the ops containerPort {ports.get('ops')} != --listen port {port}")
for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
    get = container.get(probe, {}).get("httpGet", {})
    check(get.get("path") == path, f"{probe}: path {get.get('path')} (expected {path})")
    check(get.get("port") in ("ops", int(port or 0)), f"{probe}: port {get.get('port')} is not the ops port")
    check("exec" not in container.get(probe, {}), f"{probe}: no exec probes: the image has no shell")
ecs_ports = [p.get("containerPort") for p in ecs_container.get("portMappings", [])]
check(ecs_ports == [int(port or 0)], f"task-definition.json: portMappings {ecs_ports} != --listen port {port}")

psc, csc = pod.get("securityContext", {}), container.get("securityContext", {})
check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, "pod: runAsNonRoot with a non-root uid")
# The uid the recipe runs as is the image's own user (compose/Dockerfile USER), so files
# the image owns (its home) stay writable and the Secret's fsGroup matches.
image_user = re.search(r"^USER\s+(\d+):(\d+)\s*$", read("compose", "Dockerfile"), re.M)
check(image_user is not None, "compose/Dockerfile: a numeric USER uid:gid")
if image_user:
    check(str(psc.get("runAsUser")) == image_user.group(1),
          f"pod: runAsUser is the image's uid {image_user.group(1)}")
check("fsGroup" not in psc, "pod: no fsGroup (it would make a mounted key file group-readable)")
check(csc.get("allowPrivilegeEscalation") is False, "container: allowPrivilegeEscalation false")
check(csc.get("readOnlyRootFilesystem") is True, "container: readOnlyRootFilesystem")
check(csc.get("capabilities", {}).get("drop") == ["ALL"], "container: drop ALL capabilities")
check(container.get("image") == "REGISTRY/sqs2pg:VERSION", "deployment.yaml: image placeholder REGISTRY/sqs2pg:VERSION")
check(ecs_container.get("image") == "REGISTRY/sqs2pg:VERSION", "task-definition.json: image placeholder")

# Sizing: memory covers the measured peak RSS plus the bodies sqs2pg may hold (the cap
# plus what receives already under way bring in: receivers x 10 x the largest message).
receivers = int(k8s_flags.get("receivers", DEFAULTS.get("receivers", "4")))
cap_text = k8s_flags.get("max-in-flight-bytes", DEFAULTS.get("max-in-flight-bytes", "64MiB"))
cap = size_bytes(cap_text)
check(cap is not None, f"--max-in-flight-bytes {cap_text}: not a size this check reads")
cap = cap or 0
needed = PEAK_RSS_MIB * (1 << 20) + cap + receivers * MAX_RECEIVE * MAX_MESSAGE
res = container.get("resources", {})
mem_limit = k8s_quantity(res.get("limits", {}).get("memory", "0"))
mem_request = k8s_quantity(res.get("requests", {}).get("memory", "0"))
check(mem_limit >= needed, f"memory limit {mem_limit / 2**20:.0f} MiB < {needed / 2**20:.0f} MiB "
      f"(measured {PEAK_RSS_MIB} MiB + cap + {receivers} x 10 x 256 KiB)")
check(mem_request >= 2 * PEAK_RSS_MIB * (1 << 20), f"memory request below twice the measured {PEAK_RSS_MIB} MiB")
cpu_request = k8s_quantity(res.get("requests", {}).get("cpu", "0"))
check(cpu_request >= FULL_SPEED_CPU * 1.2,
      f"cpu request {cpu_request} below the measured full-speed {FULL_SPEED_CPU:.2f} CPU plus 20 %")
check(k8s_quantity(res.get("limits", {}).get("cpu", "0")) >= 1, "cpu limit below one core: the event loop would be throttled")
check(ecs_container.get("memory", 0) * (1 << 20) == mem_limit, "ECS container memory != the Kubernetes limit")
check(ecs_container.get("memoryReservation", 0) * (1 << 20) == mem_request, "ECS memoryReservation != the Kubernetes request")
check(int(taskdef.get("cpu", "0")) >= cpu_request * 1024, "ECS task cpu below the Kubernetes request")
check(int(taskdef.get("memory", "0")) >= ecs_container.get("memory", 0), "ECS task memory below the container's")

# --- ECS -------------------------------------------------------------------------------

check(ecs_container.get("readonlyRootFilesystem") is True, "task-definition.json: readonlyRootFilesystem")
check(str(ecs_container.get("user", "")).split(":")[0] not in ("", "0", "root"), "task-definition.json: a non-root user")
if image_user:
    check(str(ecs_container.get("user", "")) == f"{image_user.group(1)}:{image_user.group(2)}",
          "task-definition.json: user is the image's uid:gid")
check("healthCheck" not in ecs_container or "CMD-SHELL" not in ecs_container["healthCheck"].get("command", []),
      "task-definition.json: no CMD-SHELL health check: the image has no shell")
check(ecs_container.get("logConfiguration", {}).get("logDriver") in ("awslogs", "awsfirelens"),
      "task-definition.json: awslogs or FireLens")
check(taskdef.get("taskRoleArn", "").endswith(":role/sqs2pg-consumer"), "task-definition.json: the consumer task role")
check(taskdef.get("executionRoleArn") and taskdef.get("executionRoleArn") != taskdef.get("taskRoleArn"),
      "task-definition.json: an execution role separate from the task role")
service = docs.get("ecs/service.json", [{}])[0]
breaker = service.get("deploymentConfiguration", {}).get("deploymentCircuitBreaker", {})
check(breaker.get("enable") is True and breaker.get("rollback") is True, "service.json: circuit breaker with rollback")
check(service.get("enableExecuteCommand") is False, "service.json: no ECS Exec (nothing to exec into)")

# --- autoscaling -----------------------------------------------------------------------

queue_url = CM.get("SQS2PG_QUEUE_URL", "")
queue_name = urlparse(queue_url).path.rsplit("/", 1)[-1]
scaled = k8s_one("ScaledObject", "sqs2pg")
spec = scaled.get("spec", {})
check(spec.get("scaleTargetRef", {}).get("name") == deployment.get("metadata", {}).get("name")
      and spec.get("scaleTargetRef", {}).get("kind", "Deployment") == "Deployment",
      "keda.yaml: scaleTargetRef is not the Deployment")
triggers = spec.get("triggers", [])
check(len(triggers) == 1 and triggers[0].get("type") == "aws-sqs-queue", "keda.yaml: one aws-sqs-queue trigger")
trigger = triggers[0] if triggers else {}
meta = trigger.get("metadata", {})
known = {"queueURL", "queueURLFromEnv", "queueLength", "activationQueueLength", "awsRegion",
         "awsEndpoint", "scaleOnInFlight", "scaleOnDelayed"}
check(set(meta) <= known, f"keda.yaml: unknown or deprecated metadata {sorted(set(meta) - known)}")
check(all(isinstance(v, str) for v in meta.values()), "keda.yaml: trigger metadata values must be strings")
check(meta.get("queueURL") == queue_url, "keda.yaml: queueURL is not the Deployment's SQS2PG_QUEUE_URL")
check(meta.get("awsRegion") == CM.get("SQS2PG_REGION"), "keda.yaml: awsRegion is not SQS2PG_REGION")
auth_name = trigger.get("authenticationRef", {}).get("name")
auth = k8s_one("TriggerAuthentication", auth_name)
identity = auth.get("spec", {}).get("podIdentity", {})
check(identity.get("provider") == "aws", "keda.yaml: podIdentity provider 'aws' (aws-eks is deprecated)")
check(identity.get("identityOwner") != "workload",
      "keda.yaml: identityOwner workload needs an IRSA annotation sqs2pg's service account does not have")
queue_length = int(meta.get("queueLength", "5"))
batch = int(k8s_flags.get("batch-size", DEFAULTS.get("batch-size", "250")))
held = 2 * batch * BATCHES_IN_FLIGHT + MAX_RECEIVE + receivers * MAX_RECEIVE
check(queue_length >= 10 * held,
      f"queueLength {queue_length}: a replica holds up to {held} messages itself (counted in flight); "
      "at less than 10 times that, consumers scale themselves out")
check(queue_length <= LOW_MSGS * 30,
      f"queueLength {queue_length}: more than 30 s of the lowest measured rate {LOW_MSGS:.0f} msgs/s per replica")
check(meta.get("scaleOnInFlight", "true") == "true", "keda.yaml: the sizing counts in-flight messages")
min_r, max_r = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
check(min_r >= 1 or "activationQueueLength" in meta, "keda.yaml: min 0 needs an activationQueueLength")
down = spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior", {}).get("scaleDown", {})
check(down.get("stabilizationWindowSeconds", 300) >= 60, "keda.yaml: a scale-down stabilization window")
check(spec.get("pollingInterval", 30) <= 30, "keda.yaml: pollingInterval above 30 s")

target = docs.get("ecs/scalable-target.json", [{}])[0]
policy = docs.get("ecs/scaling-policy.json", [{}])[0]
check((target.get("MinCapacity"), target.get("MaxCapacity")) == (min_r, max_r),
      "ECS min/max capacity differ from KEDA's min/max replicas")
check(target.get("MinCapacity", 0) >= 1, "ECS MinCapacity >= 1: the backlog is divided by the running tasks")
check(policy.get("ResourceId") == target.get("ResourceId") == f"service/CLUSTER/{service.get('serviceName')}",
      "ECS: the policy, the scalable target and the service name differ")
tt = policy.get("TargetTrackingScalingPolicyConfiguration", {})
check(tt.get("TargetValue") == queue_length, "ECS TargetValue differs from KEDA's queueLength (the same sizing)")
metrics = tt.get("CustomizedMetricSpecification", {}).get("Metrics", [])
returned = [m for m in metrics if m.get("ReturnData")]
check(len(returned) == 1 and "Expression" in returned[0], "ECS: one returned metric math expression")
ids = {m["Id"] for m in metrics}
if returned:
    used = set(re.findall(r"[a-z][a-zA-Z0-9_]*", returned[0].get("Expression", "")))
    check(used <= ids, f"ECS: the expression uses unknown ids {sorted(used - ids)}")
for m in metrics:
    stat_ = m.get("MetricStat", {}).get("Metric", {})
    if stat_.get("Namespace") == "AWS/SQS":
        dims = {d["Name"]: d["Value"] for d in stat_.get("Dimensions", [])}
        check(dims.get("QueueName") == queue_name, f"ECS: metric {m['Id']} is not on queue {queue_name}")

# --- monitoring, disruption budget -----------------------------------------------------


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


pdb = k8s_one("PodDisruptionBudget", "sqs2pg")
check(selects(pdb.get("spec", {}).get("selector", {}), pod_labels), "PodDisruptionBudget does not select the pods")
check("maxUnavailable" in pdb.get("spec", {}), "PodDisruptionBudget: maxUnavailable (minAvailable blocks drains at one replica)")
podmonitor = k8s_one("PodMonitor", "sqs2pg")
check(selects(podmonitor.get("spec", {}).get("selector", {}), pod_labels), "PodMonitor does not select the pods")
for ep in podmonitor.get("spec", {}).get("podMetricsEndpoints", []):
    check(ep.get("port") in ports and ep.get("path", "/metrics") == "/metrics", f"PodMonitor endpoint {ep}")
scrape = docs.get("prometheus/scrape-config.yaml", [{}])[0].get("scrape_configs", [{}])[0]
keeps = {tuple(r["source_labels"]): r["regex"] for r in scrape.get("relabel_configs", []) if r.get("action") == "keep"}
check(keeps.get(("__meta_kubernetes_pod_label_app_kubernetes_io_name",)) == pod_labels.get("app.kubernetes.io/name"),
      "scrape-config.yaml does not keep the pods' label")
check(keeps.get(("__meta_kubernetes_pod_container_port_name",)) in ports, "scrape-config.yaml does not keep the ops port")
rules = k8s_one("PrometheusRule", "sqs2pg")
exprs = [r.get("expr", "") for g in rules.get("spec", {}).get("groups", []) for r in g.get("rules", [])]
check(len(exprs) >= 3, "PrometheusRule: alerts expected")
for name in sorted({m for e in exprs for m in re.findall(r"\bsqs2pg_[a-z_]+", e)}):
    check(f"`{name}`" in OPERATIONS_DOC, f"PrometheusRule: {name} is not a metric docs/operations.md lists")

sa = k8s_one("ServiceAccount", pod.get("serviceAccountName"))
check("eks.amazonaws.com/role-arn" not in sa.get("metadata", {}).get("annotations", {}),
      "serviceaccount.yaml: an IRSA annotation beside the Pod Identity association makes the pods run as the annotated role (web identity comes first in the chain)")

# --- IAM -------------------------------------------------------------------------------

# Where AWS allows nothing narrower than a wildcard resource.
WILDCARD_OK = {
    ("iam/ecs-execution-policy.json", "AuthenticateToEcr"): "ecr:GetAuthorizationToken takes no resource",
    ("iam/ecs-execution-policy.json", "WriteTheLogs"): "the log streams are created per task",
    ("iam/mask-key-secret-policy.json", "NobodyElseReadsTheMaskingKeyring"): "a secret's resource policy: * is that secret",
}
policies = {rel: ds[0] for rel, ds in docs.items() if rel.startswith("iam/")}
check(len(policies) >= 6, f"iam/: policies expected, found {sorted(policies)}")


def as_list(v):
    return v if isinstance(v, list) else [v]


def statements(doc):
    return as_list(doc.get("Statement", []))


def actions_on(doc, resource):
    out = set()
    for s in statements(doc):
        if s.get("Effect") == "Allow" and resource in as_list(s.get("Resource", [])):
            out |= set(as_list(s.get("Action", [])))
    return out


for rel, doc in sorted(policies.items()):
    check(doc.get("Version") == "2012-10-17", f"{rel}: Version 2012-10-17")
    trust = "trust" in rel
    for s in statements(doc):
        sid = s.get("Sid", "")
        check(bool(sid) and s.get("Effect") in ("Allow", "Deny"), f"{rel}: every statement needs a Sid and an Effect")
        check("NotAction" not in s and "NotResource" not in s, f"{rel} {sid}: no NotAction/NotResource")
        acts = as_list(s.get("Action", []))
        check(bool(acts) and all("*" not in a and ":" in a for a in acts), f"{rel} {sid}: wildcard or malformed action {acts}")
        if trust:
            check("Principal" in s and "Resource" not in s, f"{rel} {sid}: a trust policy names a principal")
            check(set(acts) <= {"sts:AssumeRole", "sts:TagSession"}, f"{rel} {sid}: trust actions {acts}")
            continue
        if s.get("Principal") == "*" or s.get("Principal") == {"AWS": "*"}:
            check(s.get("Effect") == "Deny" and "Condition" in s, f"{rel} {sid}: principal * only in a conditional Deny")
        for r in as_list(s.get("Resource", [])):
            check(r and ("*" not in r or (rel, sid) in WILDCARD_OK), f"{rel} {sid}: wildcard resource {r}")

consumer = policies.get("iam/consumer-policy.json", {})
dlq_url = CM.get("SQS2PG_DEAD_LETTER_QUEUE_URL", "")


def queue_arn(url):
    host, path = urlparse(url).netloc, urlparse(url).path.strip("/").split("/")  # netloc keeps case
    region = host.split(".")[1] if host.startswith("sqs.") else ""
    return f"arn:aws:sqs:{region}:{path[0]}:{path[-1]}" if len(path) == 2 else ""


queue, dlq = queue_arn(queue_url), queue_arn(dlq_url)
consumer_actions = {a for s in statements(consumer) for a in as_list(s.get("Action", []))}
check(consumer_actions == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                           "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage", "kms:Decrypt",
                           "kms:GenerateDataKey", "rds-db:connect"},
      f"consumer-policy.json: actions {sorted(consumer_actions)}")
# The SQS calls the pipeline makes (the queue port and the run command), as IAM actions.
CALLS = {"async_receive_message": "sqs:ReceiveMessage", "async_delete_message_batch": "sqs:DeleteMessage",
         "async_change_message_visibility_batch": "sqs:ChangeMessageVisibility",
         "async_get_queue_attributes": "sqs:GetQueueAttributes", "async_get_queue_url": "sqs:GetQueueUrl",
         "async_send_message_batch": "sqs:SendMessage"}
calls = set(re.findall(r"\b(?:client_|sqs_)\.(async_[a-z_]+)\(",
                       read("src", "flow", "ports.cpp") + read("src", "app", "commands", "run.cpp")))
check(calls and calls <= set(CALLS), f"the pipeline makes SQS calls this check does not know: {sorted(calls - set(CALLS))}")
needed_actions = {CALLS[c] for c in calls if c in CALLS}
check(needed_actions - {"sqs:SendMessage"} <= actions_on(consumer, queue),
      f"consumer-policy.json: the queue lacks {sorted(needed_actions - {'sqs:SendMessage'} - actions_on(consumer, queue))}")
check(actions_on(consumer, dlq) == {"sqs:SendMessage"}, "consumer-policy.json: only SendMessage on the dead-letter queue")
check("sqs:SendMessage" not in actions_on(consumer, queue), "consumer-policy.json: no SendMessage on the queue it drains")
for s in statements(consumer):
    if any(a.startswith("kms:") for a in as_list(s["Action"])):
        check(s.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService", "").startswith("sqs."),
              f"consumer-policy.json {s['Sid']}: KMS only through SQS")
    if "rds-db:connect" in as_list(s["Action"]):
        check(all(":dbuser:" in r for r in as_list(s["Resource"])), "consumer-policy.json: rds-db:connect on one DB user")
keda_policy = policies.get("iam/keda-scaler-policy.json", {})
check({a for s in statements(keda_policy) for a in as_list(s["Action"])} == {"sqs:GetQueueAttributes"}
      and actions_on(keda_policy, queue) == {"sqs:GetQueueAttributes"},
      "keda-scaler-policy.json: only GetQueueAttributes on the queue")
check(identity.get("roleArn", "").endswith(":role/sqs2pg-keda-scaler"), "keda.yaml: the scaler's own role")
unmask = policies.get("iam/unmask-policy.json", {})
unmask_actions = {a for s in statements(unmask) for a in as_list(s["Action"])}
check(not unmask_actions & consumer_actions - {"kms:Decrypt"}, "unmask-policy.json shares rights with the consumer")
check("secretsmanager:GetSecretValue" not in consumer_actions, "the consumer role never reads the key secret itself")
for s in statements(unmask):
    if "secretsmanager:GetSecretValue" in as_list(s["Action"]):
        check(s.get("Condition", {}).get("Bool", {}).get("aws:MultiFactorAuthPresent") == "true",
              "unmask-policy.json: reading the key needs MFA")
execution = policies.get("iam/ecs-execution-policy.json", {})
secret_patterns = [r for s in statements(execution) if "secretsmanager:GetSecretValue" in as_list(s["Action"])
                   for r in as_list(s["Resource"])]
for e in ecs_container.get("secrets", []):
    check(any(fnmatch.fnmatchcase(e["valueFrom"].replace("-SUFFIX", "-AbC123"), p) for p in secret_patterns),
          f"ecs-execution-policy.json cannot read {e['valueFrom']}")
guard = policies.get("iam/mask-key-secret-policy.json", {})
readers = [p for s in statements(guard) for p in as_list(s.get("Condition", {}).get("ArnNotEquals", {}).get("aws:PrincipalArn", []))]
check(taskdef.get("executionRoleArn") in readers, "mask-key-secret-policy.json shuts out the ECS execution role")

# --- documentation ---------------------------------------------------------------------

deploy_doc = read("docs", "deploy.md") if os.path.isfile(os.path.join(ROOT, "docs", "deploy.md")) else ""
check(deploy_doc != "", "docs/deploy.md is missing")
for rel in sorted(docs):
    check(os.path.basename(rel) in deploy_doc, f"docs/deploy.md does not mention {rel}")

for e in errors:
    print("deploy check:", e)
print(f"deploy check: {passed} checks passed, {len(errors)} failed")
sys.exit(1 if errors else 0)
