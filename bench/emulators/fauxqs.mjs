// Runs the fauxqs emulator (SQS part, AWS JSON protocol) on loopback.
// Usage: node fauxqs.mjs [PORT]   (PORT 0 or absent: the kernel picks a free one)
// Prints one line "READY <endpoint-url>" on stdout once it listens; SIGTERM/SIGINT stop it.
//
// Why not `npx fauxqs`: its CLI always listens on 0.0.0.0 and logs every request. We
// build the same Fastify app with buildApp() and listen on 127.0.0.1 ourselves.
import { buildApp } from "fauxqs";

// fauxqs writes queue URLs as http://sqs.<region>.<host>:<port>/000000000000/<name>
// with host "localhost" by default; sqs.us-east-1.localhost does not resolve through
// glibc on Debian, so a client that connects to the queue URL's host would fail.
// With an empty host, fauxqs uses the Host header of the CreateQueue request instead
// (http://127.0.0.1:<port>/000000000000/<name>). Queues are looked up by the exact URL
// string, so clients must use the URL CreateQueue/GetQueueUrl returned, verbatim.
// The store class is not exported by the package, so load it by its file path.
const storeUrl = new URL("../node_modules/fauxqs/dist/sqs/sqsStore.js", import.meta.url);
const { SqsStore } = await import(storeUrl.href);

const port = Number(process.argv[2] || 0);
const sqsStore = new SqsStore();
sqsStore.host = "";
const app = buildApp({ logger: false, stores: { sqsStore } });
try {
  await app.listen({ port, host: "127.0.0.1" });
} catch (err) {
  process.stderr.write(`fauxqs: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
}
const { port: bound } = app.server.address();
process.stdout.write(`READY http://127.0.0.1:${bound}\n`);
const stop = () => {
  app.close().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
