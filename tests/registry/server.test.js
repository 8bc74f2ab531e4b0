'use strict';
// The double as a process: command line, ready line, listeners (HTTP, HTTPS, chosen
// address and port), SIGTERM, restart empty, fault modes, admin reset and validation.

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
  startDouble, runDoubleToExit, request, admin, getToken, agentRegistration, eurekaClient, makeCerts,
} = require('./helpers');

describe('process and listeners', () => {
  const certDirs = [];
  after(() => { for (const dir of certDirs) fs.rmSync(dir, { recursive: true, force: true }); });

  it('prints one ready line with the actual URLs of a free port, and nothing else on stdout', async () => {
    const double = await startDouble(['--host', '127.0.0.1', '--port', '0', '--verbose']);
    const { ready } = double;
    assert.equal(ready.event, 'ready');
    assert.equal(ready.pid, double.child.pid);
    const port = Number(new URL(ready.http).port);
    assert.ok(port > 0);
    assert.equal(ready.http, `http://127.0.0.1:${port}`);
    assert.equal(ready.eureka, `${ready.http}/eureka`);
    assert.equal(ready.token_url, `${ready.http}/oauth/token`);
    assert.equal(ready.admin, `${ready.http}/_double`);
    assert.equal(ready.https, null);
    assert.equal(ready.eureka_https, null);
    const token = await getToken(double);
    await eurekaClient(double, { token }).getJson('/apps');
    assert.equal((await double.stop()).code, 0);
    assert.equal(double.stdout().trim().split('\n').length, 1);
    assert.match(double.stderr(), /GET \/eureka\/apps 200/);
    assert.ok(!double.stderr().includes(token), 'verbose log shows the token');
  });

  it('listens on a chosen loopback address and port, and restarts there with an empty registry', async () => {
    const first = await startDouble(['--host', '127.0.0.23', '--auth', 'off']);
    const url = first.ready.http;
    assert.match(url, /^http:\/\/127\.0\.0\.23:\d+$/);
    const reg = agentRegistration();
    assert.equal((await eurekaClient(first).register(reg)).status, 204);
    await first.stop();
    await assert.rejects(request(`${url}/eureka/apps`), /ECONNREFUSED/);
    const second = await startDouble(['--host', '127.0.0.23', '--port', new URL(url).port, '--auth', 'off']);
    try {
      assert.equal(second.ready.http, url);
      const eureka = eurekaClient(second);
      assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404);
      assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${reg.instance.instanceId}`)).status, 404);
    } finally {
      await second.stop();
    }
  });

  it('exits 0 on SIGTERM even with a request left hanging', async () => {
    const double = await startDouble(['--auth', 'off']);
    await admin(double, 'POST', '/config', { fault: 'hang' });
    const hung = request(`${double.ready.eureka}/apps`, { timeoutMs: 8000 }).then((res) => res, (err) => err);
    await assert.rejects(request(`${double.ready.eureka}/apps`, { timeoutMs: 300 }), /timed out/);
    const started = Date.now();
    const { code } = await double.stop();
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms to stop`);
    const outcome = await hung;
    assert.ok(outcome instanceof Error, `the hung request was answered with ${outcome.status}`);
    assert.match(outcome.message, /socket hang up|ECONNRESET/);
  });

  for (const [args, message] of [
    [['--port', 'http'], /--port: expected a port number/],
    [['--cache', 'sometimes'], /--cache: expected/],
    [['--auth', 'maybe'], /--auth: expected true\/false/],
    [['--token-lifetime', '0'], /--token-lifetime: expected a whole number of seconds >= 1/],
    [['--eviction-interval'], /--eviction-interval: missing value/],
    [['--tls-dir', '/nonexistent/dir'], /--tls-dir: cannot read \/nonexistent\/dir\/server\.pem/],
    [['--bogus'], /unknown option "--bogus"/],
  ]) {
    it(`refuses ${args.join(' ')} with a clear message and exit status 2`, async () => {
      const { code, stdout, stderr } = await runDoubleToExit(args);
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.match(stderr.split('\n')[0], message);
    });
  }

  it('serves HTTPS with a certificate from make-certs.sh, trusted only through its CA', async () => {
    const certs = makeCerts(['IP:127.0.0.24']);
    const other = makeCerts();
    certDirs.push(certs, other);
    for (const file of ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem']) {
      assert.ok(fs.existsSync(path.join(certs, file)), file);
    }
    assert.equal(fs.statSync(path.join(certs, 'server-key.pem')).mode & 0o077, 0, 'key readable by others');
    const double = await startDouble(['--host', '127.0.0.24', '--tls-dir', certs]);
    try {
      const { ready } = double;
      assert.match(ready.https, /^https:\/\/127\.0\.0\.24:\d+$/);
      assert.equal(ready.eureka_https, `${ready.https}/eureka`);
      assert.equal(ready.token_url_https, `${ready.https}/oauth/token`);
      const ca = fs.readFileSync(path.join(certs, 'ca.pem'));
      const tokenRes = await request(ready.token_url_https, {
        method: 'POST',
        ca,
        headers: {
          Authorization: `Basic ${Buffer.from('test-client:test-secret').toString('base64')}`,
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      assert.equal(tokenRes.status, 200);
      const eureka = eurekaClient(double, { token: JSON.parse(tokenRes.body).access_token, base: ready.eureka_https, ca });
      assert.equal((await eureka.register(agentRegistration())).status, 204);
      assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 200);
      const wrongCa = fs.readFileSync(path.join(other, 'ca.pem'));
      await assert.rejects(request(`${ready.eureka_https}/apps`, { ca: wrongCa }), (err) => {
        assert.match(err.code, /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
        return true;
      });
      await assert.rejects(request(`${ready.eureka_https}/apps`), /self-signed|unable to verify|issuer/i);
      const log = (await admin(double, 'GET', '/requests')).json.requests;
      assert.deepEqual(log.map((e) => e.listener), ['https', 'https', 'https']);
    } finally {
      await double.stop();
    }
  });

  it('refuses a make-certs.sh SAN that is not IP: or DNS:', async () => {
    const { execFileSync } = require('node:child_process');
    const dir = fs.mkdtempSync('/tmp/registry-double-bad-san-');
    certDirs.push(dir);
    assert.throws(
      () => execFileSync(path.join(__dirname, '../support/registry/make-certs.sh'), [dir, 'URI:x'], { stdio: 'pipe' }),
      (err) => err.status === 2 && /not of the form IP:ADDRESS or DNS:NAME/.test(err.stderr.toString()),
    );
  });
});

describe('fault modes and admin API', () => {
  it('answers 503 or 500 to Eureka calls, leaving the token endpoint alone, until set back to none', async () => {
    const double = await startDouble([]);
    try {
      const token = await getToken(double);
      const eureka = eurekaClient(double, { token });
      for (const code of ['503', '500']) {
        await admin(double, 'POST', '/config', { fault: code });
        assert.equal((await eureka.register(agentRegistration())).status, Number(code));
        assert.equal((await eureka.getJson('/apps')).status, Number(code));
        assert.ok(await getToken(double));
      }
      await admin(double, 'POST', '/config', { fault: 'none' });
      assert.equal((await admin(double, 'GET', '/state')).json.instances.length, 0);
      assert.equal((await eureka.register(agentRegistration())).status, 204);
    } finally {
      await double.stop();
    }
  });

  it('fails or hangs the token endpoint with tokenFault', async () => {
    const double = await startDouble([]);
    try {
      await admin(double, 'POST', '/config', { tokenFault: '503' });
      await assert.rejects(getToken(double), /answered 503/);
      await admin(double, 'POST', '/config', { tokenFault: 'hang' });
      await assert.rejects(request(double.ready.token_url, { method: 'POST', body: 'x', timeoutMs: 300 }), /timed out/);
      await admin(double, 'POST', '/config', { tokenFault: 'none' });
      assert.ok(await getToken(double));
    } finally {
      await double.stop();
    }
  });

  it('rejects bad admin config with 400 naming the key, and reset restores the start options', async () => {
    const double = await startDouble(['--cache', '5', '--auth', 'off']);
    try {
      for (const body of [{ fault: 'explode' }, { cache: -1 }, { nonsense: 1 }, { tokenLifetime: 'x' }]) {
        const res = await admin(double, 'POST', '/config', body);
        assert.equal(res.status, 400);
        assert.match(res.json.error, new RegExp(Object.keys(body)[0]));
      }
      await admin(double, 'POST', '/config', { cache: 'off', auth: true, singleObject: true });
      await eurekaClient(double).getJson('/apps');
      await admin(double, 'POST', '/clock', { advance: 10 });
      const reset = await admin(double, 'POST', '/reset');
      assert.equal(reset.json.config.cache, 5);
      assert.equal(reset.json.config.auth, false);
      assert.equal(reset.json.config.singleObject, false);
      const state = (await admin(double, 'GET', '/state')).json;
      assert.deepEqual(state.requests, []);
      assert.equal(state.clock.offsetSeconds, 0);
      assert.equal((await admin(double, 'GET', '/nothing-here')).status, 404);
    } finally {
      await double.stop();
    }
  });

  it('filters the state dump by app and lists requests after a sequence number', async () => {
    const double = await startDouble(['--auth', 'off']);
    try {
      const eureka = eurekaClient(double);
      await eureka.register(agentRegistration({ cluster: 'one' }));
      await eureka.register(agentRegistration({ cluster: 'two', ip: '10.255.0.3' }));
      const state = (await admin(double, 'GET', '/state?app=two')).json;
      assert.deepEqual(state.instances.map((i) => i.app), ['TWO']);
      const later = (await admin(double, 'GET', '/requests?since=1')).json.requests;
      assert.deepEqual(later.map((e) => [e.seq, e.path]), [[2, '/eureka/apps/TWO']]);
    } finally {
      await double.stop();
    }
  });
});
