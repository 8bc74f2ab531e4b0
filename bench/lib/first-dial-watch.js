// bench/lib/first-dial-watch.js NODE_IP PEER_IP PORT TIMEOUT_MS
// Two clocks on one wall clock, for bench/first-dial:
//   accept  the first moment NODE_IP:PORT (the app node's distribution) accepts a TCP
//           connection, found by trying it every millisecond (each try is closed at once;
//           the trying stops at the first success)
//   dial    the first connection to a stand-in peer listening on PEER_IP:PORT that sends
//           something (the app node dialling its first peer, asked by the agent: its
//           handshake); noted when it was accepted, closed at its first bytes
// Prints one line "accept_ms dial_ms" (epoch milliseconds, microsecond fractions) and exits 0,
// or exits 1 when either has not happened within TIMEOUT_MS.
'use strict';
const net = require('net');
const { performance } = require('perf_hooks');

const [nodeIp, peerIp, portText, timeoutText] = process.argv.slice(2);
const port = Number(portText);
const now = () => performance.timeOrigin + performance.now();
let acceptMs = null;
let dialMs = null;

function finish() {
  if (acceptMs === null || dialMs === null) return;
  process.stdout.write(`${acceptMs.toFixed(3)} ${dialMs.toFixed(3)}\n`);
  process.exit(0);
}

// A dial sends the distribution handshake at once; the agent's own probes of a missing
// peer's port connect and close without a byte, so they are not counted.
const peer = net.createServer((sock) => {
  const acceptedMs = now();
  sock.once('data', () => {
    if (dialMs === null) dialMs = acceptedMs;
    sock.destroy();
    finish();
  });
  sock.on('error', () => sock.destroy());
});
peer.on('error', (e) => { process.stderr.write(`stand-in peer: ${e.message}\n`); process.exit(1); });

function tryNode() {
  if (acceptMs !== null) return;
  const sock = net.connect({ host: nodeIp, port });
  sock.once('connect', () => {
    if (acceptMs === null) acceptMs = now();
    sock.destroy();
    finish();
  });
  sock.once('error', () => { sock.destroy(); setTimeout(tryNode, 1); });
}

peer.listen(port, peerIp, () => {
  process.stdout.write('ready\n');
  tryNode();
});
setTimeout(() => {
  process.stderr.write(`within ${timeoutText} ms: accept ${acceptMs ?? 'never'}, dial ${dialMs ?? 'never'}\n`);
  process.exit(1);
}, Number(timeoutText));
