'use strict';
// Shared helpers for the registry double's tests: start/stop the double as a real process,
// plain HTTP(S) calls, and bounded polling.

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

const SUPPORT_DIR = path.resolve(__dirname, '../support/registry');
const SERVER = path.join(SUPPORT_DIR, 'server.js');
const START_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 5000;

// Starts server.js with args; resolves once the ready line arrived (bounded).
function startDouble(args = [], env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let ready = null;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`registry double not ready within ${START_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (ready || !stdout.includes('\n')) return;
      clearTimeout(timer);
      ready = JSON.parse(stdout.slice(0, stdout.indexOf('\n')));
      resolve({
        child,
        ready,
        stdout: () => stdout,
        stderr: () => stderr,
        exited: new Promise((done) => child.once('exit', (code, signal) => done({ code, signal }))),
        stop: () => stopDouble(child),
      });
    });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`registry double exited with ${code} before ready; stderr: ${stderr}`));
    });
  });
}

// Runs server.js expecting it to exit by itself (bad options); bounded.
function runDoubleToExit(args, timeoutMs = START_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server.js ${args.join(' ')} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function stopDouble(child) {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`registry double did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`));
    }, STOP_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
    child.kill('SIGTERM');
  });
}

// One HTTP(S) call. Resolves { status, headers, body (text, gunzipped), raw (Buffer) }.
function request(url, { method = 'GET', headers = {}, body, ca, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const payload = body === undefined ? undefined
      : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const allHeaders = { ...headers };
    if (payload) allHeaders['Content-Length'] = payload.length;
    const req = lib.request(u, { method, headers: allHeaders, ca, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw).toString('utf8') : raw.toString('utf8');
        resolve({ status: res.statusCode, headers: res.headers, body: text, raw });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request timed out after ${timeoutMs} ms: ${method} ${url}`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

// double.ca: the CA to trust when the admin URL is HTTPS (started with --port off).
function admin(double, method, route, body) {
  return request(`${double.ready.admin}${route}`, {
    method,
    ca: double.ca,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body,
  }).then((res) => ({ ...res, json: res.body ? JSON.parse(res.body) : null }));
}

async function getToken(double, { id = 'test-client', secret = 'test-secret' } = {}) {
  const res = await request(double.ready.token_url, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  if (res.status !== 200) throw new Error(`token request answered ${res.status}: ${res.body}`);
  return JSON.parse(res.body).access_token;
}

// A registration body shaped like the heartbeat agent's (src/discovery/eureka.c).
function agentRegistration({ ip = '10.255.0.2', guid = 'a1b2c3d4-0000-4000-8000-000000000001', cluster = 'my-cluster',
  distPort = 9001, index = 0, duration = 90, renewal = 30 } = {}) {
  return {
    instance: {
      instanceId: `${ip}:${guid}`,
      hostName: ip,
      app: cluster.toUpperCase(),
      ipAddr: ip,
      status: 'UP',
      vipAddress: cluster,
      secureVipAddress: cluster,
      port: { $: distPort, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: renewal, durationInSecs: duration },
      metadata: {
        erlangNodeName: `app@${ip}`,
        erlangDistPort: String(distPort),
        erlangDistMode: 'epmd-less',
        erlangCluster: cluster,
        cfAppGuid: 'f0e1d2c3-0000-4000-8000-0000000000aa',
        cfInstanceIndex: String(index),
        instanceId: guid,
      },
    },
  };
}

// Polls fn (async, returns truthy when done) until it succeeds or the deadline passes.
async function waitFor(what, fn, { timeoutMs = 5000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function makeCerts(sans = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-double-certs-'));
  execFileSync(path.join(SUPPORT_DIR, 'make-certs.sh'), [dir, ...sans], { stdio: ['ignore', 'ignore', 'pipe'] });
  return dir;
}

// An object with helpers bound to one started double and (when auth is on) a token.
function eurekaClient(double, { token, base = double.ready.eureka, ca } = {}) {
  const auth = () => (token ? { Authorization: `Bearer ${token}` } : {});
  return {
    base,
    call: (method, route, { headers = {}, body } = {}) =>
      request(`${base}${route}`, { method, headers: { ...auth(), ...headers }, body, ca }),
    register: (reg, app = reg.instance.app) =>
      request(`${base}/apps/${app}`, {
        method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: reg, ca,
      }),
    getJson: async (route) => {
      const res = await request(`${base}${route}`, { headers: { ...auth(), Accept: 'application/json' }, ca });
      return { ...res, json: res.status === 200 ? JSON.parse(res.body) : null };
    },
    setToken: (t) => { token = t; },
  };
}

module.exports = {
  SUPPORT_DIR, startDouble, runDoubleToExit, request, admin, getToken, agentRegistration,
  waitFor, makeCerts, eurekaClient,
};
