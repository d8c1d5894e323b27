#!/usr/bin/env node
// The take-home job the common Node way, as a baseline for sqs2pg's end-to-end figures:
// sqs-consumer (handleMessageBatch, batchSize 10) on @aws-sdk/client-sqs, and pg. Each
// batch a consumer receives becomes one multi-row INSERT into user_logins in a
// transaction; the handler returns the batch only after COMMIT has succeeded, and
// sqs-consumer deletes what the handler returned (one DeleteMessageBatch) only then:
// delete after commit. A handler that throws (Postgres down, COMMIT refused) returns
// nothing, so nothing is deleted and the messages come back after their visibility
// timeout.
//
//   node bench/baseline/node_consumer.mjs --queue-url URL --pg postgresql://... [--consumers N]
//
// Rows as bench/baseline/original_pipeline.py makes them: JSON.parse, the six fields by
// name, SHA-256 hex (unkeyed, node:crypto) of ip and device_id, app_version made an
// integer by removing the dots ("2.3.0" -> 230), create_date = today (local date). A
// message that does not fit (not JSON, not an object, a field missing, an app_version
// that is not digits and dots, a value Postgres refuses) is logged by MessageId and
// error type only, counted as rejected and deleted, so the queue drains. When Postgres
// refuses the batch with a data error (SQLSTATE class 22), the batch is retried row by
// row under savepoints in one transaction, and the refused rows are the rejects.
//
// --consumers N runs N Consumer instances on one SQSClient and a pg Pool of N: one
// Consumer polls serially (receive, handle, delete, receive ...), so N is the number of
// receives in flight. Drain rule (as sqs2pg --drain): when a consumer's receive comes
// back empty ('empty') and no batch is being handled, GetQueueAttributes is asked; the
// run ends when visible + in flight + delayed is 0, else polling goes on.
//
// @aws-sdk/client-sqs v3 speaks the AWS JSON protocol only (fauxqs, local-aws-sqs JSON).
// Endpoint and credentials: --endpoint-url (default $AWS_ENDPOINT_URL_SQS), --region
// (default $AWS_REGION), the SDK's usual credential chain.
//
// Prints one JSON line on stdout (logs on stderr), with the fields the Python baselines
// print: messages (deleted), seconds (first receive to last delete), msgs_per_sec,
// cpu_user_s, cpu_sys_s, cpu_us_per_msg, peak_rss_kb (this process; CPU counted from the
// first receive, so Node's start and module loading are left out: bench/measure counts
// everything), p50_ms / p99_ms (from the handler's start, right after the
// ReceiveMessage response, to the COMMIT of the row's batch), seconds_total (adds the
// end: the empty receives and the drain check), received, inserted, rejected, deleted,
// delete_failed, handler_errors, sqs_errors, remaining.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import pg from "pg";
import { Consumer } from "sqs-consumer";

// The installed versions (sqs-consumer's "exports" hide its package.json from require).
const version = (name) => {
    try {
        return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url))).version;
    } catch {
        return null;
    }
};

const FIELDS = ["user_id", "device_type", "masked_ip", "masked_device_id", "locale", "app_version", "create_date"];
const log = (...parts) => console.error("node_consumer.mjs:", ...parts);

const { values: opts } = parseArgs({
    options: {
        "queue-url": { type: "string" },
        "endpoint-url": { type: "string", default: process.env.AWS_ENDPOINT_URL_SQS || process.env.AWS_ENDPOINT_URL },
        region: { type: "string", default: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "us-east-1" },
        pg: { type: "string", default: process.env.DATABASE_URL },
        table: { type: "string", default: "user_logins" },
        consumers: { type: "string", default: "1" },
        "wait-time-seconds": { type: "string", default: "1" },
        help: { type: "boolean", short: "h" },
    },
});
if (opts.help) {
    console.log("usage: node_consumer.mjs --queue-url URL --pg URL [--endpoint-url URL] [--region R] "
        + "[--table user_logins] [--consumers 1] [--wait-time-seconds 1]");
    process.exit(0);
}
if (!opts["queue-url"] || !opts.pg) {
    log("--queue-url and --pg (or DATABASE_URL) are required");
    process.exit(2);
}
const queueUrl = opts["queue-url"];
const consumers = Number(opts.consumers);
const waitTimeSeconds = Number(opts["wait-time-seconds"]);
if (!(consumers >= 1) || !(waitTimeSeconds >= 1 && waitTimeSeconds <= 20)) {
    // sqs-consumer refuses a wait time below 1.
    log("--consumers must be >= 1 and --wait-time-seconds 1..20");
    process.exit(2);
}

const mask = (value) => createHash("sha256").update(value, "utf8").digest("hex");

function localDate() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
const today = localDate();

class Reject extends Error {}

function strOrNull(v, name) {
    if (v === null || typeof v === "string") return v;
    throw new Reject(`${name} is not a string`);
}

// The login event as a user_logins row (values in FIELDS order); throws for a message
// that does not fit, as original_pipeline.py's to_row does.
function toRow(body) {
    const event = JSON.parse(body); // SyntaxError: not JSON
    if (event === null || typeof event !== "object" || Array.isArray(event)) throw new Reject("not an object");
    for (const f of ["user_id", "app_version", "device_type", "ip", "locale", "device_id"]) {
        if (!(f in event)) throw new Reject(`missing ${f}`);
    }
    if (typeof event.ip !== "string" || typeof event.device_id !== "string") throw new Reject("ip or device_id not a string");
    if (typeof event.app_version !== "string") throw new Reject("app_version not a string");
    const digits = event.app_version.replaceAll(".", "");
    if (!/^[0-9]+$/.test(digits)) throw new Reject("app_version is not digits and dots");
    // The digits go as text: Postgres makes the integer, and refuses one out of range
    // (a data error, so a reject) as it does for the Python script.
    return [strOrNull(event.user_id, "user_id"), strOrNull(event.device_type, "device_type"), mask(event.ip),
        mask(event.device_id), strOrNull(event.locale, "locale"), digits, today];
}

const insertPrefix = `INSERT INTO ${opts.table} (${FIELDS.join(", ")}) VALUES `;
function insertSql(n) {
    const groups = [];
    for (let i = 0; i < n; i++) {
        const p = FIELDS.map((_, j) => `$${i * FIELDS.length + j + 1}`);
        groups.push(`(${p.join(", ")})`);
    }
    return insertPrefix + groups.join(", ");
}
const isDataError = (e) => typeof e?.code === "string" && e.code.startsWith("22");

const stats = {
    received: 0, inserted: 0, rejected: 0, deleted: 0, delete_failed: 0, handler_errors: 0, sqs_errors: 0,
};
const latencies = [];
let handling = 0;
let tFirst = null;
let tLastDelete = null;
let cpu0 = null;

const pool = new pg.Pool({ connectionString: opts.pg, max: consumers });
pool.on("error", (e) => log(`idle pg client error: ${e.code || e.name}`));

// Rows of one batch in one transaction; returns the indexes (into rows) Postgres refused.
async function insertBatch(rows) {
    const client = await pool.connect();
    let broken;
    try {
        await client.query("BEGIN");
        try {
            await client.query(insertSql(rows.length), rows.flat());
            await client.query("COMMIT");
            return [];
        } catch (e) {
            if (!isDataError(e)) throw e;
            await client.query("ROLLBACK");
        }
        // A data error somewhere in the batch: row by row, each under a savepoint.
        const refused = [];
        await client.query("BEGIN");
        const one = insertSql(1);
        for (let i = 0; i < rows.length; i++) {
            await client.query("SAVEPOINT r");
            try {
                await client.query(one, rows[i]);
                await client.query("RELEASE SAVEPOINT r");
            } catch (e) {
                if (!isDataError(e)) throw e;
                await client.query("ROLLBACK TO SAVEPOINT r");
                refused.push(i);
            }
        }
        await client.query("COMMIT");
        return refused;
    } catch (e) {
        broken = e; // the connection is closed, not put back into the pool
        throw e;
    } finally {
        client.release(broken);
    }
}

async function handleMessageBatch(messages) {
    const tStart = process.hrtime.bigint();
    handling++;
    try {
        const rows = [];
        const rowMessages = [];
        let rejected = 0;
        for (const m of messages) {
            try {
                rows.push(toRow(m.Body));
                rowMessages.push(m);
            } catch (e) {
                if (!(e instanceof Reject || e instanceof SyntaxError)) throw e;
                rejected++;
                log(`rejected message ${m.MessageId}: ${e instanceof SyntaxError ? "SyntaxError" : "Reject"}`);
            }
        }
        if (rows.length) {
            const refused = await insertBatch(rows);
            const tCommit = process.hrtime.bigint();
            for (const i of refused) log(`rejected message ${rowMessages[i].MessageId}: DataError`);
            rejected += refused.length;
            const inserted = rows.length - refused.length;
            stats.inserted += inserted;
            const ms = Number(tCommit - tStart) / 1e6;
            for (let i = 0; i < inserted; i++) latencies.push(ms);
        }
        stats.rejected += rejected;
        // Committed (or rejected): now, and only now, sqs-consumer may delete them.
        return messages;
    } finally {
        handling--;
    }
}

const sqs = new SQSClient({
    region: opts.region,
    ...(opts["endpoint-url"] ? { endpoint: opts["endpoint-url"] } : {}),
});
// sqs-consumer does not look at DeleteMessageBatch's Failed entries: count them here.
sqs.middlewareStack.add((next, context) => async (args) => {
    const out = await next(args);
    if (context.commandName === "DeleteMessageBatchCommand") {
        const ok = out.output?.Successful?.length ?? 0;
        const failed = out.output?.Failed?.length ?? 0;
        stats.deleted += ok;
        stats.delete_failed += failed;
        if (ok) tLastDelete = process.hrtime.bigint();
        if (failed) log(`DeleteMessageBatch: ${failed} failed`);
    }
    return out;
}, { step: "initialize", name: "sqs2pgBenchCountDeletes" });

async function remainingInQueue() {
    const names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed"];
    const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }));
    return names.reduce((sum, n) => sum + Number(out.Attributes?.[n] ?? 0), 0);
}

let finishing = false;
let finish;
const finished = new Promise((resolve) => { finish = resolve; });

async function onEmpty() {
    if (finishing || handling > 0) return;
    let left;
    try {
        left = await remainingInQueue();
    } catch (e) {
        stats.sqs_errors++;
        log(`GetQueueAttributes failed: ${e.name}`);
        return;
    }
    if (left === 0 && handling === 0 && !finishing) {
        finishing = true;
        finish();
    }
}

const instances = [];
for (let i = 0; i < consumers; i++) {
    const c = Consumer.create({
        queueUrl,
        sqs,
        batchSize: 10,
        waitTimeSeconds,
        handleMessageBatch,
        strictReturn: true,
        preReceiveMessageCallback: async () => {
            if (tFirst === null) tFirst = process.hrtime.bigint();
        },
    });
    c.on("message_received", () => { stats.received++; });
    c.on("empty", () => { onEmpty(); });
    c.on("error", (err) => {
        if (finishing) return; // receives aborted at the end
        // A receive or delete that failed, or a batch handler that threw (nothing deleted).
        if (err?.name === "SQSError") stats.sqs_errors++;
        else stats.handler_errors++;
        log(`${err?.name}: ${err?.cause?.code || err?.code || err?.message}`);
    });
    instances.push(c);
}

const t0 = process.hrtime.bigint();
cpu0 = process.cpuUsage();
for (const c of instances) c.start();
await finished;
const tEnd = process.hrtime.bigint();
const cpu = process.cpuUsage(cpu0);
for (const c of instances) c.stop({ abort: true }); // the other consumers' pending receives

let remaining = null;
try {
    remaining = await remainingInQueue();
} catch {
    // left null
}
await pool.end();
sqs.destroy();

const secs = (a, b) => Number(b - a) / 1e9;
const start = tFirst ?? t0;
const seconds = tLastDelete ? secs(start, tLastDelete) : secs(start, tEnd);
const messages = stats.deleted;
const userS = cpu.user / 1e6;
const sysS = cpu.system / 1e6;
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length
    ? latencies[Math.max(1, Math.ceil((latencies.length * p) / 100)) - 1] : null);
const round = (x, d) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);
const result = {
    tool: "node_consumer",
    node: process.versions.node,
    "sqs-consumer": version("sqs-consumer"),
    "@aws-sdk/client-sqs": version("@aws-sdk/client-sqs"),
    pg: version("pg"),
    protocol: "json",
    consumers,
    wait_time_seconds: waitTimeSeconds,
    queue_url: queueUrl,
    messages,
    seconds: round(seconds, 3),
    msgs_per_sec: seconds > 0 ? round(messages / seconds, 1) : null,
    cpu_user_s: round(userS, 3),
    cpu_sys_s: round(sysS, 3),
    cpu_us_per_msg: messages ? round(((userS + sysS) * 1e6) / messages, 1) : null,
    peak_rss_kb: process.resourceUsage().maxRSS,
    p50_ms: round(pct(50), 2),
    p99_ms: round(pct(99), 2),
    seconds_total: round(secs(start, tEnd), 3),
    ...stats,
    remaining,
};
log(`${stats.inserted} inserted, ${stats.rejected} rejected, ${stats.deleted} deleted in ${seconds.toFixed(2)} s `
    + `(${result.msgs_per_sec}/s; ${consumers} consumer(s))`);
process.stdout.write(`${JSON.stringify(result)}\n`);
const ok = remaining === 0 && stats.delete_failed === 0 && stats.handler_errors === 0;
process.exitCode = ok ? 0 : 1;
setTimeout(() => process.exit(), 2000).unref(); // should a socket or timer still hold the loop
