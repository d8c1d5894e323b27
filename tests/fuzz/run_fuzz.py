#!/usr/bin/env python3
"""Runs a libFuzzer binary for a bounded time on a seed corpus made from the sample
messages. Exits with the fuzzer's status, so a crash or invariant failure fails the test.

usage: run_fuzz.py FUZZER SAMPLE_JSON DICT ARTIFACT_DIR
SQS2PG_FUZZ_SECONDS sets the time (default 30)."""
import json
import os
import subprocess
import sys
import tempfile


def seeds(sample_path):
    with open(sample_path, encoding="utf-8") as f:
        messages = json.load(f)
    for i, m in enumerate(messages):
        yield f"sample_{i:03}", json.dumps(m)
        if i % 10 == 0 and isinstance(m, dict) and "device_id" in m:
            # The same message nested, for the dotted-key mapping.
            nested = dict(m)
            nested["device"] = {"id": nested.pop("device_id")}
            nested["client"] = {"net": {"ip": nested.pop("ip")}}
            nested["meta"] = {"locale": nested.pop("locale")}
            yield f"nested_{i:03}", json.dumps(nested)


def main():
    fuzzer, sample, dictionary, artifacts = sys.argv[1:5]
    seconds = int(os.environ.get("SQS2PG_FUZZ_SECONDS", "30"))
    os.makedirs(artifacts, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sqs2pg-fuzz-") as corpus:
        for name, text in seeds(sample):
            with open(os.path.join(corpus, name), "w", encoding="utf-8") as f:
                f.write(text)
        cmd = [
            fuzzer,
            f"-max_total_time={seconds}",
            "-timeout=10",
            "-rss_limit_mb=2048",
            "-max_len=8192",
            "-print_final_stats=1",
            f"-dict={dictionary}",
            f"-artifact_prefix={os.path.join(artifacts, '')}",
            corpus,
        ]
        print("running:", " ".join(cmd), flush=True)
        status = subprocess.run(cmd).returncode
    if status != 0:
        print(f"fuzzer failed with status {status}; reproducer in {artifacts}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
