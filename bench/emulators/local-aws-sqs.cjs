// Runs the local-aws-sqs emulator (npm package, a library without a CLI) on loopback.
// Usage: node local-aws-sqs.cjs [PORT]   (PORT 0 or absent: the kernel picks a free one)
// Prints one line "READY <endpoint-url>" on stdout once it listens; SIGTERM/SIGINT stop it.
"use strict";

const { createSqsServer } = require("local-aws-sqs");

async function main() {
  const port = Number(process.argv[2] || 0);
  const server = await createSqsServer({
    // The default hostname is "localhost", which may resolve to ::1 first; we bind
    // IPv4 loopback only. The hostname also becomes the host part of queue URLs.
    hostname: "127.0.0.1",
    port,
    region: process.env.AWS_REGION || "us-east-1",
    // Queue names can be reused at once (AWS makes you wait 60 s after a delete).
    emulateQueueCreationLifecycle: false,
  });
  const { port: bound } = server.address();
  process.stdout.write(`READY http://127.0.0.1:${bound}\n`);
  const stop = () => {
    server.close(() => process.exit(0));
    // Long polls in progress would hold close() for up to 20 s.
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  process.stderr.write(`local-aws-sqs: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
