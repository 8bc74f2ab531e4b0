'use strict';
// The double's hostile fault modes (oversize, trickle, malformed, garbage, truncated, redirect,
// 401), faultMethods, the request log's durationMs/completed, and the admin calls register,
// deregister and tokens.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const {
  startDouble, request, admin, getToken, agentRegistration, eurekaClient, waitFor,
} = require('./helpers');

// Reads a streamed answer until `limit` bytes or `ms` passed, then hangs up.
function readSome(url, { limit = Infinity, ms = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = http.get(url, { agent: false }, (res) => {
      let bytes = 0;
      let first = '';
      const done = (ended) => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode, headers: res.headers, bytes, first, ended, elapsed: Date.now() - started });
      };
      const timer = setTimeout(() => done(false), ms);
      res.on('data', (chunk) => {
        if (first.length < 64) first += chunk.toString('utf8').slice(0, 64 - first.length);
        bytes += chunk.length;
        if (bytes >= limit) done(false);
      });
      res.on('end', () => done(true));
    });
    req.on('error', reject);
  });
}

describe('hostile fault modes', () => {
  let double;
  before(async () => {
    double = await startDouble(['--auth', 'off']);
  });
  after(async () => {
    await double.stop();
  });
  const apps = () => `${double.ready.eureka}/apps/MY-CLUSTER`;
  const setConfig = async (body) => {
    const res = await admin(double, 'POST', '/config', body);
    assert.equal(res.status, 200, res.body);
    return res.json.config;
  };

  it('oversize streams oversizeBytes of JSON-looking text, and stops when the client hangs up', async () => {
    await setConfig({ fault: 'oversize', oversizeBytes: 300000 });
    const whole = await readSome(apps(), { ms: 5000 });
    assert.equal(whole.status, 200);
    assert.equal(whole.bytes, 300000);
    assert.ok(whole.ended);
    assert.ok(whole.first.startsWith('{"application":{"name":"OVERSIZE","instance":['));
    await setConfig({ oversizeBytes: 64 * 1024 * 1024 });
    const seq = (await admin(double, 'GET', '/requests?since=0')).json.requests.length;
    const part = await readSome(apps(), { limit: 1024 * 1024 });
    assert.ok(!part.ended);
    const entry = await waitFor('the log entry of the abandoned answer', async () => {
      const log = (await admin(double, 'GET', `/requests?since=${seq}`)).json.requests;
      return log.find((e) => e.completed !== null);
    });
    assert.equal(entry.completed, false);
    assert.equal(entry.status, 200);
    await setConfig({ fault: 'none' });
  });

  it('trickle sends the headers at once and then one byte per interval, never ending', async () => {
    await setConfig({ fault: 'trickle', trickleIntervalMs: 50 });
    const got = await readSome(apps(), { ms: 600 });
    assert.equal(got.status, 200);
    assert.ok(!got.ended);
    assert.ok(got.bytes >= 5 && got.bytes <= 14, `got ${got.bytes} bytes in 600 ms`);
    assert.ok('{"application":{"name":"TRICKLE"'.startsWith(got.first));
    const log = (await admin(double, 'GET', '/requests?since=0')).json.requests;
    const entry = await waitFor('the trickled request to be closed', async () => {
      const last = (await admin(double, 'GET', '/requests?since=0')).json.requests.at(-1);
      return last.completed === false ? last : null;
    });
    assert.ok(log.length > 0);
    assert.ok(entry.durationMs >= 500 && entry.durationMs < 2000, `durationMs ${entry.durationMs}`);
    await setConfig({ fault: 'none' });
  });

  it('malformed and garbage answer 200 with a body that is not JSON; truncated cuts a real answer in half', async () => {
    const eureka = eurekaClient(double);
    assert.equal((await eureka.register(agentRegistration())).status, 204);
    const real = await eureka.getJson('/apps/MY-CLUSTER');
    for (const fault of ['malformed', 'garbage']) {
      await setConfig({ fault });
      const res = await eureka.call('GET', '/apps/MY-CLUSTER', { headers: { Accept: 'application/json' } });
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'], /json/);
      assert.throws(() => JSON.parse(res.body));
    }
    await setConfig({ fault: 'truncated' });
    const cut = await eureka.call('GET', '/apps/MY-CLUSTER', { headers: { Accept: 'application/json' } });
    assert.equal(cut.status, 200);
    assert.equal(Number(cut.headers['content-length']), Math.floor(Buffer.byteLength(real.body) / 2));
    assert.ok(real.body.startsWith(cut.body));
    assert.throws(() => JSON.parse(cut.body));
    await setConfig({ fault: 'none' });
    await admin(double, 'POST', '/drop-leases');
  });

  it('faultMethods limits a Eureka fault to some methods', async () => {
    const eureka = eurekaClient(double);
    await setConfig({ fault: '503', faultMethods: ['get'] });
    assert.equal((await eureka.register(agentRegistration())).status, 204);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 503);
    const config = await setConfig({ faultMethods: 'all' });
    assert.equal(config.faultMethods, null);
    assert.equal((await eureka.register(agentRegistration())).status, 503);
    await setConfig({ fault: 'none' });
    await admin(double, 'POST', '/drop-leases');
  });

  it('redirect answers 307 to redirectTo with the same path and query, or 500 without redirectTo', async () => {
    await setConfig({ fault: 'redirect' });
    assert.equal((await request(`${apps()}?x=1`)).status, 500);
    await setConfig({ redirectTo: 'http://127.0.0.99:8080/' });
    const res = await request(`${apps()}?x=1`);
    assert.equal(res.status, 307);
    assert.equal(res.headers.location, 'http://127.0.0.99:8080/eureka/apps/MY-CLUSTER?x=1');
    await setConfig({ fault: 'none', tokenFault: 'redirect' });
    const token = await request(double.ready.token_url, { method: 'POST', body: 'grant_type=client_credentials' });
    assert.equal(token.status, 307);
    assert.equal(token.headers.location, 'http://127.0.0.99:8080/oauth/token');
    await setConfig({ tokenFault: 'none' });
  });

  it('tokenFault 401 refuses good credentials; garbage answers 200 with no JSON', async () => {
    await setConfig({ tokenFault: '401' });
    await assert.rejects(getToken(double), /answered 401/);
    await setConfig({ tokenFault: 'garbage' });
    const res = await request(double.ready.token_url, { method: 'POST', body: 'grant_type=client_credentials' });
    assert.equal(res.status, 200);
    assert.throws(() => JSON.parse(res.body));
    await setConfig({ tokenFault: 'none' });
    assert.ok(await getToken(double));
  });

  it('rejects bad values of the new keys with 400 naming the key', async () => {
    for (const body of [{ faultMethods: ['PATCH'] }, { faultMethods: [] }, { redirectTo: 'ftp://x' },
      { redirectTo: 'not a url' }, { oversizeBytes: 0 }, { trickleIntervalMs: 0 }, { fault: 'sometimes' }]) {
      const res = await admin(double, 'POST', '/config', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.json.error, new RegExp(Object.keys(body)[0]));
    }
  });
});

describe('admin register, deregister and tokens', () => {
  it('registers many instances at once without tokens, lists them, and deregisters them by id', async () => {
    const double = await startDouble([]);
    try {
      const instances = Array.from({ length: 3000 }, (_, i) => ({
        ...agentRegistration({ ip: '10.1.0.1', guid: `g-${i}` }).instance,
        metadata: { erlangCluster: 'my-cluster', erlangNodeName: `bad name ${i}\u0000@10.1.0.1` },
      }));
      const res = await admin(double, 'POST', '/register', { instances });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.json.registered, 3000);
      const token = await getToken(double);
      const listed = await eurekaClient(double, { token }).getJson('/apps/MY-CLUSTER');
      assert.equal(listed.json.application.instance.length, 3000);
      assert.equal(listed.json.application.instance[7].metadata.erlangNodeName, 'bad name 7\u0000@10.1.0.1');
      const gone = await admin(double, 'POST', '/deregister', { ids: instances.slice(0, 2999).map((i) => i.instanceId) });
      assert.equal(gone.json.removed, 2999);
      assert.equal((await admin(double, 'GET', '/state')).json.instances.length, 1);
      const tokens = (await admin(double, 'GET', '/tokens')).json.tokens;
      assert.deepEqual(tokens, [token]);
    } finally {
      await double.stop();
    }
  });

  it('answers 400 naming the instance a real server would refuse', async () => {
    const double = await startDouble([]);
    try {
      const good = agentRegistration().instance;
      const res = await admin(double, 'POST', '/register', { instances: [good, { ...good, ipAddr: '' }] });
      assert.equal(res.status, 400);
      assert.match(res.json.error, /instances\[1\]: Missing ip address/);
      assert.equal((await admin(double, 'POST', '/register', { nope: 1 })).status, 400);
      assert.equal((await admin(double, 'POST', '/deregister', { ids: [1] })).status, 400);
    } finally {
      await double.stop();
    }
  });
});
