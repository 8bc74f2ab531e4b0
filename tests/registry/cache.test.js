'use strict';
// The read-only response cache: GET /apps, /apps/delta and /apps/{APP} are served stale until
// the refresh timer runs; a 404 is cached too; single-instance reads are always live.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startDouble, admin, agentRegistration, eurekaClient, waitFor } = require('./helpers');

describe('read-only response cache', () => {
  let double;
  let eureka;
  before(async () => {
    double = await startDouble(['--auth', 'off', '--cache', 'on']);
    eureka = eurekaClient(double);
  });
  after(() => double.stop());
  beforeEach(() => admin(double, 'POST', '/reset'));

  it('is on with a 30 s refresh when started with --cache on', async () => {
    assert.equal((await admin(double, 'GET', '/state')).json.config.cache, 30);
  });

  it('caches a 404 for an app until the next refresh, while instance reads stay live', async () => {
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404);
    const reg = agentRegistration();
    await eureka.register(reg);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404, 'the cached 404 should still be served');
    assert.equal((await eureka.getJson(`/apps/MY-CLUSTER/${reg.instance.instanceId}`)).status, 200);
    assert.equal((await eureka.getJson(`/instances/${reg.instance.instanceId}`)).status, 200);
    await admin(double, 'POST', '/refresh-cache');
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 200);
  });

  it('keeps serving a deleted instance from /apps and /apps/{APP} until the refresh', async () => {
    const reg = agentRegistration();
    await eureka.register(reg);
    const first = await eureka.getJson('/apps');
    assert.equal(first.json.applications.application.length, 1);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 200);
    assert.equal((await eureka.call('DELETE', `/apps/MY-CLUSTER/${reg.instance.instanceId}`)).status, 200);
    assert.equal((await eureka.getJson('/apps')).body, first.body);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 200);
    assert.equal((await eureka.getJson(`/apps/MY-CLUSTER/${reg.instance.instanceId}`)).status, 404);
    await admin(double, 'POST', '/refresh-cache');
    assert.deepEqual((await eureka.getJson('/apps')).json.applications.application, []);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404);
  });

  it('keeps refreshing, refresh after refresh, and follows the registry each time', async () => {
    const first = agentRegistration();
    await eureka.register(first);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 200);
    for (let round = 0; round < 3; round++) {
      await admin(double, 'POST', '/refresh-cache');
      const answer = await eureka.getJson('/apps/MY-CLUSTER');
      assert.equal(answer.status, 200, `refresh ${round + 1}`);
    }
    assert.equal((await eureka.call('DELETE', `/apps/MY-CLUSTER/${first.instance.instanceId}`)).status, 200);
    await admin(double, 'POST', '/refresh-cache');
    await admin(double, 'POST', '/refresh-cache');
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404);
  });

  it('caches JSON and XML answers separately', async () => {
    await eureka.register(agentRegistration());
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 200);
    const xml = await eureka.call('GET', '/apps/MY-CLUSTER', { headers: { Accept: 'application/xml' } });
    assert.equal(xml.status, 200);
    assert.match(xml.body, /^<application>/);
  });

  it('refreshes by itself on its timer', async () => {
    await admin(double, 'POST', '/config', { cache: 1 });
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404);
    await eureka.register(agentRegistration());
    await waitFor('the cache timer to publish the registration',
      async () => (await eureka.getJson('/apps/MY-CLUSTER')).status === 200, { timeoutMs: 4000, intervalMs: 100 });
  });

  it('serves live answers once turned off at run time', async () => {
    await admin(double, 'POST', '/config', { cache: 'off' });
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404);
    await eureka.register(agentRegistration());
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 200);
  });
});

describe('without the cache (default)', () => {
  let double;
  let eureka;
  before(async () => {
    double = await startDouble(['--auth', 'off']);
    eureka = eurekaClient(double);
  });
  after(() => double.stop());

  it('shows a registration and a deletion immediately', async () => {
    assert.equal((await admin(double, 'GET', '/state')).json.config.cache, 'off');
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404);
    const reg = agentRegistration();
    await eureka.register(reg);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 200);
    await eureka.call('DELETE', `/apps/MY-CLUSTER/${reg.instance.instanceId}`);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404);
  });
});
