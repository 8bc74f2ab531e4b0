// bench/lib/first-dial-watch.js NODE_IP PEER_IP PORT TIMEOUT_MS NODE_NAME BACKEND_IP
// Two clocks on one wall clock, for bench/first-dial:
//   accept  the first moment NODE_IP:PORT (the app node's distribution) accepts a TCP
//           connection, found by trying it every millisecond (each try is closed at once;
//           the trying stops at the first success)
//   dial    the first connection to PEER_IP:PORT whose first packet names NODE_NAME (the app
//           node dialling its first peer, asked by the agent: its handshake); noted when it
//           was accepted. Every connection there is passed on to the real peer node at
//           BACKEND_IP:PORT (named as PEER_IP), so the agent's own handshake with the peer,
//           which comes first and names the agent's probe, passes as it would.
// Prints one line "accept_ms dial_ms" (epoch milliseconds, microsecond fractions) and exits 0,
// or exits 1 when either has not happened within TIMEOUT_MS.
'use strict';
const net = require('net');
const { performance } = require('perf_hooks');

const [nodeIp, peerIp, portText, timeoutText, nodeName, backendIp] = process.argv.slice(2);
const port = Number(portText);
const now = () => performance.timeOrigin + performance.now();
let acceptMs = null;
let dialMs = null;

function finish() {
  if (acceptMs === null || dialMs === null) return;
  process.stdout.write(`${acceptMs.toFixed(3)} ${dialMs.toFixed(3)}\n`);
  process.exit(0);
}

// A dial sends the distribution handshake at once, its first packet holding the dialler's
// name; the agent's probes of the port connect and close without a byte, and its handshake
// names its probe, so neither is counted.
const peer = net.createServer((sock) => {
  const acceptedMs = now();
  const backend = net.connect({ host: backendIp, port });
  backend.on('error', () => sock.destroy());
  sock.on('error', () => backend.destroy());
  sock.once('data', (first) => {
    if (dialMs === null && first.includes(Buffer.from(nodeName))) dialMs = acceptedMs;
    finish();
  });
  sock.pipe(backend);
  backend.pipe(sock);
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
