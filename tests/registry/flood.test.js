'use strict';
// The flood config: made-up instances served a window at a time next to the real leases,
// each looking like a registration of the agent (string-typed fields, our metadata), with
// distinct names over time and each answer of the size asked for.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startDouble, request, admin, agentRegistration } = require('./helpers');

const JSON_GET = { headers: { Accept: 'application/json' } };

describe('flood', () => {
  let double;
  before(async () => {
    double = await startDouble(['--auth', 'off']);
  });
  after(async () => {
    await double.stop();
  });

  it('serves the real instances and a moving window of made-up ones that look registered', async () => {
    const reg = await request(`${double.ready.eureka}/apps/CHAT`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: agentRegistration({ ip: '127.0.0.12', cluster: 'chat' }),
    });
    assert.equal(reg.status, 204);
    const set = await admin(double, 'POST', '/config', {
      flood: { app: 'chat', cluster: 'chat', count: 10, perAnswer: 4, port: 9001,
        addresses: ['127.100.{a}.{b}', '198.51.100.{b}'] },
    });
    assert.equal(set.status, 200);
    const names = new Set();
    for (let k = 0; k < 3; k++) {
      const res = await request(`${double.ready.eureka}/apps/CHAT`, JSON_GET);
      assert.equal(res.status, 200);
      const instances = JSON.parse(res.body).application.instance;
      assert.equal(instances.length, 5);
      assert.equal(instances[0].ipAddr, '127.0.0.12'); // the real one, every time
      for (const inst of instances.slice(1)) {
        assert.equal(inst.status, 'UP');
        assert.equal(inst.metadata.erlangCluster, 'chat');
        assert.equal(inst.metadata.erlangNodeName, `${inst.instanceId.replace('-', '')}@${inst.ipAddr}`);
        assert.deepEqual(inst.port, { $: 9001, '@enabled': 'true' });
        assert.equal(typeof inst.lastDirtyTimestamp, 'string');
        assert.equal(typeof inst.leaseInfo.registrationTimestamp, 'number');
        names.add(inst.metadata.erlangNodeName);
      }
    }
    // 12 served of 10: every name once, then the window wraps.
    assert.equal(names.size, 10);
    assert.ok(names.has('flood0@127.100.0.1'));
    assert.ok(names.has('flood1@198.51.100.2'));
    const state = await admin(double, 'GET', '/_double/state'.replace('/_double', ''));
    assert.equal(state.json.flood.served, 10);
    // The made-up instances are never stored.
    assert.equal(state.json.instances.length, 1);
  });

  it('lists a fixed set of made-up instances, before the real ones when asked', async () => {
    const set = await admin(double, 'POST', '/config', {
      flood: { app: 'chat', cluster: 'chat', count: 10, perAnswer: 4, port: 9001, fixed: true, first: true,
        addresses: ['127.100.{a}.{b}'] },
    });
    assert.equal(set.status, 200);
    for (let k = 0; k < 3; k++) {
      const res = await request(`${double.ready.eureka}/apps/CHAT`, JSON_GET);
      const instances = JSON.parse(res.body).application.instance;
      assert.deepEqual(instances.map((i) => i.metadata.erlangNodeName),
        ['flood0@127.100.0.1', 'flood1@127.100.0.2', 'flood2@127.100.0.3', 'flood3@127.100.0.4',
          'app@127.0.0.12']);
    }
    const state = await admin(double, 'GET', '/state');
    assert.equal(state.json.flood.served, 4);
    const bad = await admin(double, 'POST', '/config', { flood: { app: 'chat', cluster: 'chat', count: 1, perAnswer: 1, port: 1, addresses: ['x'], fixed: 'yes' } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /^flood\.fixed: expected true or false/);
  });

  it('names a bad flood config and turns off with null', async () => {
    const bad = await admin(double, 'POST', '/config', { flood: { app: 'chat', cluster: 'chat', count: 0, perAnswer: 1, port: 1, addresses: ['x'] } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /^flood\.count: expected a whole number/);
    const noAddr = await admin(double, 'POST', '/config', { flood: { app: 'chat', cluster: 'chat', count: 1, perAnswer: 1, port: 1, addresses: [] } });
    assert.equal(noAddr.status, 400);
    assert.match(noAddr.json.error, /^flood\.addresses/);
    const off = await admin(double, 'POST', '/config', { flood: null });
    assert.equal(off.status, 200);
    const res = await request(`${double.ready.eureka}/apps/CHAT`, JSON_GET);
    assert.equal(JSON.parse(res.body).application.instance.length, 1);
  });
});
