'use strict';
// Cross-check of the double against a real third-party Eureka client, the npm
// eureka-js-client (installed by `npm ci` in tests/support/registry): it must register,
// heartbeat, re-register after a 404, fetch and see instances (including one registered the
// way the heartbeat agent registers), and deregister on stop.

const { describe, it, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { SUPPORT_DIR, startDouble, admin, getToken, agentRegistration, eurekaClient, waitFor, makeCerts } = require('./helpers');

function loadEurekaClient() {
  const dir = path.join(SUPPORT_DIR, 'node_modules', 'eureka-js-client');
  if (!fs.existsSync(dir)) {
    throw new Error(`eureka-js-client is not installed: run "npm ci" in ${SUPPORT_DIR}`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  assert.match(pkg.version, /^4\.5\./, `expected eureka-js-client 4.5.x, found ${pkg.version}`);
  return require(dir).Eureka;
}

// Collects the client's log lines instead of printing them.
function quietLogger() {
  const lines = [];
  const log = (level) => (...args) => lines.push(`${level}: ${args.map(String).join(' ')}`);
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function jsClient(Eureka, double, { auth = true, ca, https = false, appName = 'jsclient', ip = '127.0.0.1' } = {}) {
  const logger = quietLogger();
  const base = new URL(https ? double.ready.https : double.ready.http);
  const client = new Eureka({
    logger,
    instance: {
      app: appName,
      instanceId: `${ip}:js-${appName}`,
      hostName: ip,
      ipAddr: ip,
      port: { $: 8080, '@enabled': true },
      vipAddress: appName,
      statusPageUrl: `http://${ip}:8080/info`,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    },
    eureka: {
      host: base.hostname,
      port: Number(base.port),
      ssl: https,
      servicePath: '/eureka/apps/',
      heartbeatInterval: 200,
      registryFetchInterval: 200,
      maxRetries: 0,
    },
    requestMiddleware: (opts, done) => {
      const withCa = ca ? { ...opts, ca } : opts;
      if (!auth) {
        done(withCa);
        return;
      }
      // A fresh token per call keeps this independent of token lifetimes and expiry tests.
      getToken(double).then(
        (token) => done({ ...withCa, headers: { ...(withCa.headers || {}), Authorization: `Bearer ${token}` } }),
        (err) => { logger.error(`token fetch failed: ${err.message}`); done(withCa); },
      );
    },
  });
  return { client, logger };
}

function startClient(client) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('eureka-js-client did not start within 10 s')), 10000);
    client.start((err) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    });
  });
}

function stopClient(client) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('eureka-js-client did not stop within 10 s')), 10000);
    client.stop((err) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    });
  });
}

async function requests(double) {
  return (await admin(double, 'GET', '/requests')).json.requests;
}

describe('eureka-js-client against the double (OAuth2 on)', () => {
  let Eureka;
  let double;
  let js;
  before(async () => {
    Eureka = loadEurekaClient();
    double = await startDouble([]);
  });
  after(() => double.stop());
  beforeEach(async () => {
    await admin(double, 'POST', '/reset');
    js = jsClient(Eureka, double);
  });
  afterEach(async () => {
    if (js.client.heartbeat) clearInterval(js.client.heartbeat);
    if (js.client.registryFetch) clearInterval(js.client.registryFetch);
  });

  it('registers with POST, heartbeats with PUT and deregisters with DELETE on stop', async () => {
    await startClient(js.client);
    const id = '127.0.0.1:js-jsclient';
    let state = (await admin(double, 'GET', '/state')).json;
    assert.deepEqual(state.instances.map((i) => [i.app, i.instanceId, i.status]), [['JSCLIENT', id, 'UP']]);
    await waitFor('two successful heartbeats', async () => (await requests(double))
      .filter((e) => e.method === 'PUT' && e.path.toLowerCase() === `/eureka/apps/jsclient/${id}` && e.status === 200).length >= 2);
    const posts = (await requests(double)).filter((e) => e.method === 'POST' && e.path.startsWith('/eureka/'));
    assert.deepEqual(posts.map((e) => [e.path.toLowerCase(), e.status, e.auth, e.tokenValid]), [['/eureka/apps/jsclient', 204, 'bearer', true]]);
    await stopClient(js.client);
    state = (await admin(double, 'GET', '/state')).json;
    assert.deepEqual(state.instances, []);
    const deletes = (await requests(double)).filter((e) => e.method === 'DELETE');
    assert.deepEqual(deletes.map((e) => [e.path.toLowerCase(), e.status]), [[`/eureka/apps/jsclient/${id}`, 200]]);
    assert.ok(!js.logger.lines.some((l) => /^error/.test(l)), js.logger.lines.join('\n'));
  });

  it('re-registers after a heartbeat answers 404', async () => {
    await startClient(js.client);
    await admin(double, 'POST', '/drop-leases');
    const since = (await requests(double)).at(-1).seq;
    await waitFor('a 404 heartbeat followed by a new registration', async () => {
      const later = (await requests(double)).filter((e) => e.seq > since && e.path.startsWith('/eureka/'));
      const miss = later.findIndex((e) => e.method === 'PUT' && e.status === 404);
      return miss >= 0 && later.slice(miss).some((e) => e.method === 'POST' && e.status === 204);
    });
    const state = (await admin(double, 'GET', '/state')).json;
    assert.deepEqual(state.instances.map((i) => i.instanceId), ['127.0.0.1:js-jsclient']);
    await stopClient(js.client);
  });

  it("reads back an instance registered the way the heartbeat agent registers", async () => {
    const token = await getToken(double);
    const agent = eurekaClient(double, { token });
    const reg = agentRegistration({ ip: '10.255.0.7', guid: 'agent-guid-7', cluster: 'my-cluster', index: 3 });
    assert.equal((await agent.register(reg)).status, 204);
    const down = agentRegistration({ ip: '10.255.0.8', guid: 'agent-guid-8', cluster: 'my-cluster' });
    down.instance.status = 'DOWN';
    assert.equal((await agent.register(down)).status, 204);
    await startClient(js.client);
    const seen = js.client.getInstancesByAppId('MY-CLUSTER');
    assert.deepEqual(seen.map((i) => i.instanceId), ['10.255.0.7:agent-guid-7'], 'UP agent instance only');
    const inst = seen[0];
    assert.equal(inst.ipAddr, '10.255.0.7');
    assert.equal(inst.port.$, 9001);
    assert.equal(inst.metadata.erlangNodeName, 'app@10.255.0.7');
    assert.equal(inst.metadata.erlangCluster, 'my-cluster');
    assert.equal(inst.metadata.cfInstanceIndex, '3');
    assert.equal(inst.metadata.instanceId, 'agent-guid-7');
    assert.deepEqual(js.client.getInstancesByVipAddress('my-cluster').map((i) => i.instanceId), ['10.255.0.7:agent-guid-7']);
    assert.deepEqual(js.client.getInstancesByAppId('JSCLIENT').map((i) => i.instanceId), ['127.0.0.1:js-jsclient']);
    await stopClient(js.client);
  });

  it('sees instances registered after it started, and single-object answers, on later fetches', async () => {
    await admin(double, 'POST', '/config', { singleObject: true });
    await startClient(js.client);
    const agent = eurekaClient(double, { token: await getToken(double) });
    await agent.register(agentRegistration({ ip: '10.255.0.9', guid: 'late' }));
    await waitFor('the client to fetch the late registration', async () =>
      js.client.getInstancesByAppId('MY-CLUSTER').some((i) => i.instanceId === '10.255.0.9:late'));
    await stopClient(js.client);
  });
});

describe('eureka-js-client over HTTPS without OAuth2 (user-provided registry)', () => {
  let Eureka;
  let double;
  let certs;
  before(async () => {
    Eureka = loadEurekaClient();
    certs = makeCerts();
    double = await startDouble(['--auth', 'off', '--port', 'off', '--tls-dir', certs]);
    double.ca = fs.readFileSync(path.join(certs, 'ca.pem'));
  });
  after(async () => {
    await double.stop();
    fs.rmSync(certs, { recursive: true, force: true });
  });

  it('registers, finds itself and deregisters through the test CA', async () => {
    assert.equal(double.ready.http, null);
    assert.match(double.ready.admin, /^https:/);
    const { client, logger } = jsClient(Eureka, double, { auth: false, https: true, ca: double.ca });
    try {
      await startClient(client);
      assert.deepEqual(client.getInstancesByAppId('JSCLIENT').map((i) => i.instanceId), ['127.0.0.1:js-jsclient']);
      await stopClient(client);
    } finally {
      clearInterval(client.heartbeat);
      clearInterval(client.registryFetch);
    }
    assert.deepEqual((await admin(double, 'GET', '/state')).json.instances, []);
    const log = (await admin(double, 'GET', '/requests')).json.requests;
    assert.ok(log.every((e) => e.listener === 'https' && e.auth === 'none'));
    assert.deepEqual(log.filter((e) => e.method !== 'GET').map((e) => [e.method, e.status]), [['POST', 204], ['DELETE', 200]]);
    assert.ok(!logger.lines.some((l) => /^error/.test(l)), logger.lines.join('\n'));
  });
});
