#!/bin/bash
# LocalStack ready hook: creates login-queue (with login-queue-dlq as its dead-letter
# queue after 5 receives) and loads the sample messages, one message per array element.
# Creates login-queue-ready last, which the compose health check waits for.
set -euo pipefail
sample=/opt/sqs2pg/sample_data.json

awslocal sqs create-queue --queue-name login-queue-dlq >/dev/null
dlq_arn=$(awslocal sqs get-queue-attributes \
    --queue-url http://localhost:4566/000000000000/login-queue-dlq \
    --attribute-names QueueArn --query Attributes.QueueArn --output text)
awslocal sqs create-queue --queue-name login-queue --attributes \
    "{\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}\"}" >/dev/null
queue_url=$(awslocal sqs get-queue-url --queue-name login-queue --query QueueUrl --output text)

batches=$(mktemp -d)
python3 - "$sample" "$batches" <<'PY'
import json, sys
messages = json.load(open(sys.argv[1], encoding="utf-8"))
for start in range(0, len(messages), 10):
    entries = [{"Id": f"m{start + i}", "MessageBody": json.dumps(m, ensure_ascii=False)}
               for i, m in enumerate(messages[start:start + 10])]
    with open(f"{sys.argv[2]}/{start:05d}.json", "w", encoding="utf-8") as f:
        json.dump(entries, f)
PY
for f in "$batches"/*.json; do
    awslocal sqs send-message-batch --queue-url "$queue_url" --entries "file://$f" >/dev/null
done
rm -rf "$batches"
awslocal sqs create-queue --queue-name login-queue-ready >/dev/null
echo "init-sqs: login-queue loaded from $sample"
