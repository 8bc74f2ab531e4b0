#!/usr/bin/env node
'use strict';
// Eureka registry + OAuth2 token endpoint test double. Usage: see README.md.
// Prints exactly one JSON "ready" line on stdout; everything else goes to stderr.

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const { RegistryDouble, normaliseConfig, ConfigError } = require('./lib/app');

const USAGE = 'usage: server.js [--host ADDR] [--port N|off] [--tls-dir DIR] [--https-port N] ' +
  '[--auth on|off] [--token-lifetime S] [--cache off|on|S] [--single-object] ' +
  '[--eviction-interval S] [--self-preservation on|off] [--verbose]';

function fail(message, code = 2) {
  process.stderr.write(`registry double: ${message}\n${code === 2 ? `${USAGE}\n` : ''}`);
  process.exit(code);
}

function parsePort(option, value) {
  if (!/^\d+$/.test(value || '') || Number(value) > 65535) {
    fail(`${option}: expected a port number 0-65535 (0 = any free port), got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function parseArgs(argv) {
  const opts = {
    host: '127.0.0.1', port: 0, httpsPort: 0, tlsDir: null, verbose: false,
    config: {
      auth: 'on', tokenLifetime: '30', cache: 'off', singleObject: false,
      evictionInterval: '60', selfPreservation: 'off',
      clientId: process.env.REGISTRY_DOUBLE_CLIENT_ID || 'test-client',
      clientSecret: process.env.REGISTRY_DOUBLE_CLIENT_SECRET || 'test-secret',
    },
  };
  const valued = {
    '--host': (v) => { opts.host = v; },
    '--port': (v) => { opts.port = v === 'off' ? null : parsePort('--port', v); },
    '--https-port': (v) => { opts.httpsPort = parsePort('--https-port', v); },
    '--tls-dir': (v) => { opts.tlsDir = v; },
    '--auth': (v) => { opts.config.auth = v; },
    '--token-lifetime': (v) => { opts.config.tokenLifetime = v; },
    '--cache': (v) => { opts.config.cache = v; },
    '--eviction-interval': (v) => { opts.config.evictionInterval = v; },
    '--self-preservation': (v) => { opts.config.selfPreservation = v; },
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name === '--single-object') opts.config.singleObject = true;
    else if (name === '--verbose') opts.verbose = true;
    else if (name === '--help' || name === '-h') {
      process.stderr.write(`${USAGE}\n`);
      process.exit(0);
    } else if (valued[name]) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') fail(`${name}: missing value`);
      valued[name](value);
    } else fail(`unknown option ${JSON.stringify(arg)}`);
  }
  if (!opts.host) fail('--host: missing value');
  if (opts.port === null && !opts.tlsDir) fail('--port off needs --tls-dir (no listener left)');
  try {
    opts.config = normaliseConfig(opts.config);
  } catch (err) {
    if (err instanceof ConfigError) fail(`--${err.message.replace(/^(\w+)/, (k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))}`);
    throw err;
  }
  return opts;
}

function readTls(dir) {
  const read = (file) => {
    const full = path.join(dir, file);
    try {
      return fs.readFileSync(full);
    } catch (err) {
      return fail(`--tls-dir: cannot read ${full}: ${err.message} (make it with make-certs.sh DIR)`);
    }
  };
  return { cert: read('server.pem'), key: read('server-key.pem') };
}

function listen(server, host, port, label) {
  return new Promise((resolve) => {
    server.once('error', (err) => fail(`cannot listen for ${label} on ${host}:${port}: ${err.message}`, 1));
    server.listen({ host, port }, () => resolve(server.address().port));
  });
}

function baseUrl(scheme, host, port) {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const double = new RegistryDouble(opts.config, { verbose: opts.verbose });
  const servers = [];
  const handler = (label) => (req, res) => {
    double.handle(req, res, label).catch((err) => {
      process.stderr.write(`registry double: internal error on ${req.method} ${req.url}: ${err.stack}\n`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('internal error in registry double');
    });
  };
  const ready = {
    event: 'ready', pid: process.pid,
    http: null, https: null, eureka: null, eureka_https: null,
    token_url: null, token_url_https: null, admin: null,
  };
  if (opts.port !== null) {
    const server = http.createServer(handler('http'));
    servers.push(server);
    const port = await listen(server, opts.host, opts.port, 'HTTP');
    ready.http = baseUrl('http', opts.host, port);
  }
  if (opts.tlsDir) {
    const server = https.createServer(readTls(opts.tlsDir), handler('https'));
    servers.push(server);
    const port = await listen(server, opts.host, opts.httpsPort, 'HTTPS');
    ready.https = baseUrl('https', opts.host, port);
  }
  for (const scheme of ['http', 'https']) {
    if (!ready[scheme]) continue;
    const suffix = scheme === 'https' ? '_https' : '';
    ready[`eureka${suffix}`] = `${ready[scheme]}/eureka`;
    ready[`token_url${suffix}`] = `${ready[scheme]}/oauth/token`;
  }
  ready.admin = `${ready.http || ready.https}/_double`;

  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    double.stop();
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
    process.exitCode = 0;
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

main().catch((err) => fail(`failed to start: ${err.stack}`, 1));
