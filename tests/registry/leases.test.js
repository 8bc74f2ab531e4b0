'use strict';
// Lease expiry, the eviction task (with its 2 x duration quirk and per-run limit) and
// self-preservation.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startDouble, admin, agentRegistration, eurekaClient, waitFor } = require('./helpers');

async function listedIds(eureka) {
  const res = await eureka.getJson('/apps/MY-CLUSTER');
  return res.status === 404 ? [] : res.json.application.instance.map((i) => i.instanceId).sort();
}

describe('leases and eviction', () => {
  let double;
  let eureka;
  before(async () => {
    double = await startDouble(['--auth', 'off']);
    eureka = eurekaClient(double);
  });
  after(() => double.stop());
  beforeEach(() => admin(double, 'POST', '/reset'));

  it('keeps listing an expired instance, unchanged, until the eviction task removes it', async () => {
    const reg = agentRegistration();
    await eureka.register(reg);
    await admin(double, 'POST', '/clock', { advance: 91 });
    const state = (await admin(double, 'GET', '/state')).json;
    assert.equal(state.instances[0]._lease.expired, true);
    const inst = (await eureka.getJson('/apps/MY-CLUSTER')).json.application.instance[0];
    assert.equal(inst.status, 'UP');
    assert.deepEqual((await admin(double, 'POST', '/evict')).json.evicted, [reg.instance.instanceId]);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404);
    assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${reg.instance.instanceId}`)).status, 404);
  });

  it('evicts a renewed instance only after about twice its lease duration', async () => {
    const reg = agentRegistration({ duration: 10 });
    const id = reg.instance.instanceId;
    await eureka.register(reg);
    assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${id}`)).status, 200);
    await admin(double, 'POST', '/clock', { advance: 15 });
    assert.deepEqual((await admin(double, 'POST', '/evict')).json.evicted, [], 'evicted after 1.5 x duration');
    await admin(double, 'POST', '/clock', { advance: 4 });
    assert.deepEqual((await admin(double, 'POST', '/evict')).json.evicted, [], 'evicted after 1.9 x duration');
    await admin(double, 'POST', '/clock', { advance: 2 });
    assert.deepEqual((await admin(double, 'POST', '/evict')).json.evicted, [id]);
  });

  it('takes the lease duration from the registration, 90 s by default', async () => {
    const reg = agentRegistration();
    delete reg.instance.leaseInfo;
    await eureka.register(reg);
    const inst = (await eureka.getJson('/apps/MY-CLUSTER')).json.application.instance[0];
    assert.equal(inst.leaseInfo.durationInSecs, 90);
    await admin(double, 'POST', '/clock', { advance: 89 });
    assert.deepEqual((await admin(double, 'POST', '/evict')).json.evicted, []);
    await admin(double, 'POST', '/clock', { advance: 2 });
    assert.equal((await admin(double, 'POST', '/evict')).json.evicted.length, 1);
  });

  it('a renewal moves the reported lastRenewalTimestamp a lease duration ahead, like the real server', async () => {
    const reg = agentRegistration({ duration: 20 });
    await eureka.register(reg);
    const before = Date.now();
    await eureka.call('PUT', `/apps/MY-CLUSTER/${reg.instance.instanceId}`);
    const inst = (await eureka.getJson('/apps/MY-CLUSTER')).json.application.instance[0];
    assert.ok(inst.leaseInfo.lastRenewalTimestamp >= before + 20000);
  });

  it('evicts at most 15% of the registry per run (at least one)', async () => {
    for (let n = 0; n < 7; n += 1) await eureka.register(agentRegistration({ ip: `10.255.1.${n}`, guid: `g${n}` }));
    await admin(double, 'POST', '/clock', { advance: 200 });
    // 7 instances: 7 - floor(7 * 0.85) = 2 per run; then 5 - floor(4.25) = 1.
    assert.equal((await admin(double, 'POST', '/evict')).json.evicted.length, 2);
    assert.equal((await listedIds(eureka)).length, 5);
    assert.equal((await admin(double, 'POST', '/evict')).json.evicted.length, 1);
    assert.equal((await listedIds(eureka)).length, 4);
  });

  it('with self-preservation on, evicts nothing while renewals fall short of the threshold', async () => {
    await admin(double, 'POST', '/config', { selfPreservation: true });
    const alive = agentRegistration({ ip: '10.255.0.2', guid: 'alive' });
    const dead = agentRegistration({ ip: '10.255.0.3', guid: 'dead' });
    await eureka.register(alive);
    await eureka.register(dead);
    await admin(double, 'POST', '/clock', { advance: 400 });
    assert.deepEqual((await admin(double, 'POST', '/evict')).json.evicted, []);
    assert.deepEqual(await listedIds(eureka), ['10.255.0.2:alive', '10.255.0.3:dead']);
    // 2 expected clients: threshold floor(2 * 2 * 0.85) = 3 renewals a minute.
    const sp = (await admin(double, 'GET', '/state')).json.selfPreservation;
    assert.equal(sp.renewsThreshold, 3);
    for (let n = 0; n < 3; n += 1) await eureka.call('PUT', '/apps/MY-CLUSTER/10.255.0.2:alive');
    assert.deepEqual((await admin(double, 'POST', '/evict')).json.evicted, [], 'renewals equal to the threshold must not enable eviction');
    await eureka.call('PUT', '/apps/MY-CLUSTER/10.255.0.2:alive');
    assert.deepEqual((await admin(double, 'POST', '/evict')).json.evicted, ['10.255.0.3:dead']);
    assert.deepEqual(await listedIds(eureka), ['10.255.0.2:alive']);
  });

  it('drop-leases forgets every instance so renewals answer 404', async () => {
    const reg = agentRegistration();
    await eureka.register(reg);
    await admin(double, 'POST', '/drop-leases');
    assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${reg.instance.instanceId}`)).status, 404);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404);
    assert.equal((await eureka.register(reg)).status, 204);
  });
});

describe('eviction timer', () => {
  let double;
  let eureka;
  before(async () => {
    double = await startDouble(['--auth', 'off', '--eviction-interval', '1']);
    eureka = eurekaClient(double);
  });
  after(() => double.stop());

  it('runs by itself every --eviction-interval seconds, never before 2 x duration after the last renewal', async () => {
    const reg = agentRegistration({ duration: 1 });
    await eureka.register(reg);
    const renewedAt = Date.now();
    assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${reg.instance.instanceId}`)).status, 200);
    await waitFor('the eviction task to remove the lapsed instance',
      async () => (await eureka.getJson('/apps/MY-CLUSTER')).status === 404, { timeoutMs: 6000, intervalMs: 100 });
    assert.ok(Date.now() - renewedAt >= 2000, `evicted ${Date.now() - renewedAt} ms after the renewal`);
  });
});
