'use strict';
// Eureka REST behaviour of the double, per shared/spec/eureka.md.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startDouble, admin, agentRegistration, eurekaClient } = require('./helpers');

describe('Eureka REST', () => {
  let double;
  let eureka;
  before(async () => {
    double = await startDouble(['--auth', 'off']);
    eureka = eurekaClient(double);
  });
  after(() => double.stop());
  beforeEach(() => admin(double, 'POST', '/reset'));

  describe('registration', () => {
    it('accepts the agent-shaped registration with 204 and no body', async () => {
      const res = await eureka.register(agentRegistration());
      assert.equal(res.status, 204);
      assert.equal(res.body, '');
    });

    const rejections = [
      ['no instanceId and no hostName', (i) => { delete i.instanceId; delete i.hostName; }, 'Missing instanceId'],
      ['no hostName', (i) => { delete i.hostName; }, 'Missing hostname'],
      ['no ipAddr', (i) => { delete i.ipAddr; }, 'Missing ip address'],
      ['an empty ipAddr', (i) => { i.ipAddr = ''; }, 'Missing ip address'],
      ['no app', (i) => { delete i.app; }, 'Missing appName'],
      ['no dataCenterInfo', (i) => { delete i.dataCenterInfo; }, 'Missing dataCenterInfo'],
      ['no dataCenterInfo name', (i) => { delete i.dataCenterInfo.name; }, 'Missing dataCenterInfo Name'],
      ['no dataCenterInfo @class', (i) => { delete i.dataCenterInfo['@class']; }, 'Missing dataCenterInfo @class'],
      ['a bare-number port', (i) => { i.port = 9001; }, 'port'],
      ['a bare-number securePort', (i) => { i.securePort = 443; }, 'securePort'],
    ];
    for (const [what, mutate, message] of rejections) {
      it(`answers 400 with a text reason for ${what}`, async () => {
        const reg = agentRegistration();
        mutate(reg.instance);
        const res = await eureka.register(reg, 'MY-CLUSTER');
        assert.equal(res.status, 400);
        assert.match(res.headers['content-type'], /^text\/plain/);
        assert.ok(res.body.includes(message), `body ${JSON.stringify(res.body)} should mention ${message}`);
        const listed = await eureka.getJson('/apps/MY-CLUSTER');
        assert.equal(listed.status, 404, 'a rejected registration must not be stored');
      });
    }

    it('falls back to hostName when instanceId is missing', async () => {
      const reg = agentRegistration({ ip: '10.255.0.9' });
      delete reg.instance.instanceId;
      assert.equal((await eureka.register(reg)).status, 204);
      const res = await eureka.getJson('/apps/MY-CLUSTER/10.255.0.9');
      assert.equal(res.status, 200);
      assert.equal(res.json.instance.instanceId, '10.255.0.9');
    });

    it('answers 400 when the body app does not match the path', async () => {
      const res = await eureka.register(agentRegistration({ cluster: 'other' }), 'MY-CLUSTER');
      assert.equal(res.status, 400);
      assert.equal(res.body, 'Mismatched appName, expecting MY-CLUSTER but was OTHER');
    });

    it('answers 400 for a body that does not parse', async () => {
      const res = await eureka.call('POST', '/apps/MY-CLUSTER', {
        headers: { 'Content-Type': 'application/json' }, body: '{"instance": {',
      });
      assert.equal(res.status, 400);
      assert.match(res.body, /Cannot parse request body/);
    });

    it('upper-cases the app name of path and body', async () => {
      const reg = agentRegistration({ cluster: 'lower-app' });
      reg.instance.app = 'lower-app';
      assert.equal((await eureka.register(reg, 'lower-app')).status, 204);
      const res = await eureka.getJson('/apps/lower-app');
      assert.equal(res.status, 200);
      assert.equal(res.json.application.name, 'LOWER-APP');
      assert.equal(res.json.application.instance[0].app, 'LOWER-APP');
    });

    it('replaces an instance on a re-POST of the same id', async () => {
      const reg = agentRegistration();
      await eureka.register(reg);
      reg.instance.metadata.erlangNodeName = 'changed@10.255.0.2';
      assert.equal((await eureka.register(reg)).status, 204);
      const res = await eureka.getJson('/apps/MY-CLUSTER');
      assert.equal(res.json.application.instance.length, 1);
      assert.equal(res.json.application.instance[0].metadata.erlangNodeName, 'changed@10.255.0.2');
    });

    it('accepts the same calls under the /eureka/v2 prefix', async () => {
      const v2 = eurekaClient(double, { base: `${double.ready.http}/eureka/v2` });
      assert.equal((await v2.register(agentRegistration())).status, 204);
      assert.equal((await v2.getJson('/apps/MY-CLUSTER')).status, 200);
      assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 200);
    });
  });

  describe('renew and cancel', () => {
    it('renews a known lease with 200', async () => {
      await eureka.register(agentRegistration());
      const res = await eureka.call('PUT', '/apps/MY-CLUSTER/10.255.0.2:a1b2c3d4-0000-4000-8000-000000000001');
      assert.equal(res.status, 200);
      assert.equal(res.body, '');
    });

    it('answers 404 to a renewal of an unknown lease', async () => {
      const res = await eureka.call('PUT', '/apps/MY-CLUSTER/10.255.0.2:unknown?status=UP&lastDirtyTimestamp=1');
      assert.equal(res.status, 404);
    });

    it('answers 404 to a renewal whose lastDirtyTimestamp is newer than the server copy', async () => {
      const reg = agentRegistration();
      reg.instance.lastDirtyTimestamp = '1000';
      await eureka.register(reg);
      const id = reg.instance.instanceId;
      assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${id}?status=UP&lastDirtyTimestamp=2000`)).status, 404);
      assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${id}?status=UP&lastDirtyTimestamp=1000`)).status, 200);
      assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${id}?status=UP&lastDirtyTimestamp=500`)).status, 200);
    });

    it('deletes with 200, then 404 for the same id', async () => {
      const reg = agentRegistration();
      await eureka.register(reg);
      const route = `/apps/MY-CLUSTER/${reg.instance.instanceId}`;
      assert.equal((await eureka.call('DELETE', route)).status, 200);
      assert.equal((await eureka.call('DELETE', route)).status, 404);
      assert.equal((await eureka.call('PUT', route)).status, 404);
      assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 404);
    });
  });

  describe('reads', () => {
    it('answers 404 for an app with no instances', async () => {
      assert.equal((await eureka.getJson('/apps/NOBODY')).status, 404);
    });

    it('writes instances with string-typed flags, port objects, lease timestamps and metadata', async () => {
      const before = Date.now();
      await eureka.register(agentRegistration());
      const { json } = await eureka.getJson('/apps/MY-CLUSTER');
      const inst = json.application.instance[0];
      assert.equal(inst.instanceId, '10.255.0.2:a1b2c3d4-0000-4000-8000-000000000001');
      assert.equal(inst.hostName, '10.255.0.2');
      assert.equal(inst.ipAddr, '10.255.0.2');
      assert.equal(inst.status, 'UP');
      assert.equal(inst.vipAddress, 'my-cluster');
      assert.deepEqual(inst.port, { $: 9001, '@enabled': 'true' });
      assert.deepEqual(inst.dataCenterInfo, { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' });
      assert.equal(inst.isCoordinatingDiscoveryServer, 'false');
      assert.equal(typeof inst.lastUpdatedTimestamp, 'string');
      assert.equal(typeof inst.lastDirtyTimestamp, 'string');
      assert.ok(Number(inst.lastUpdatedTimestamp) >= before);
      assert.equal(inst.actionType, 'ADDED');
      assert.equal(inst.leaseInfo.durationInSecs, 90);
      assert.equal(inst.leaseInfo.renewalIntervalInSecs, 30);
      for (const key of ['registrationTimestamp', 'lastRenewalTimestamp', 'evictionTimestamp', 'serviceUpTimestamp']) {
        assert.equal(typeof inst.leaseInfo[key], 'number', key);
      }
      assert.ok(inst.leaseInfo.registrationTimestamp >= before);
      assert.equal(inst.metadata.erlangNodeName, 'app@10.255.0.2');
      assert.equal(inst.metadata.cfInstanceIndex, '0');
    });

    it('writes empty metadata as the EmptyMap form', async () => {
      const reg = agentRegistration();
      delete reg.instance.metadata;
      await eureka.register(reg);
      const { json } = await eureka.getJson('/apps/MY-CLUSTER');
      assert.deepEqual(json.application.instance[0].metadata, { '@class': 'java.util.Collections$EmptyMap' });
    });

    it('lists every app under /apps and /apps/ with versions and hashcode', async () => {
      await eureka.register(agentRegistration({ ip: '10.255.0.2', guid: 'g1' }));
      await eureka.register(agentRegistration({ ip: '10.255.0.3', guid: 'g2' }));
      await eureka.register(agentRegistration({ ip: '10.255.0.4', guid: 'g3', cluster: 'other' }));
      await eureka.call('PUT', '/apps/OTHER/10.255.0.4:g3/status?value=DOWN');
      for (const route of ['/apps', '/apps/']) {
        const { status, json } = await eureka.getJson(route);
        assert.equal(status, 200);
        assert.equal(json.applications.versions__delta, '1');
        assert.equal(json.applications.apps__hashcode, 'DOWN_1_UP_2_');
        const names = json.applications.application.map((a) => [a.name, a.instance.length]);
        assert.deepEqual(names, [['MY-CLUSTER', 2], ['OTHER', 1]]);
      }
    });

    it('reads one instance by app and id, and by id alone', async () => {
      const reg = agentRegistration();
      await eureka.register(reg);
      const id = reg.instance.instanceId;
      const byApp = await eureka.getJson(`/apps/MY-CLUSTER/${id}`);
      assert.equal(byApp.status, 200);
      assert.equal(byApp.json.instance.instanceId, id);
      const byId = await eureka.getJson(`/instances/${id}`);
      assert.equal(byId.status, 200);
      assert.equal(byId.json.instance.app, 'MY-CLUSTER');
      assert.equal((await eureka.getJson('/instances/nope')).status, 404);
      assert.equal((await eureka.getJson('/apps/MY-CLUSTER/nope')).status, 404);
    });

    it('reports recent changes with their action types under /apps/delta', async () => {
      await eureka.register(agentRegistration({ ip: '10.255.0.2', guid: 'g1' }));
      await eureka.register(agentRegistration({ ip: '10.255.0.3', guid: 'g2' }));
      await eureka.call('PUT', '/apps/MY-CLUSTER/10.255.0.3:g2/status?value=OUT_OF_SERVICE');
      await eureka.register(agentRegistration({ ip: '10.255.0.4', guid: 'g3' }));
      await eureka.call('DELETE', '/apps/MY-CLUSTER/10.255.0.4:g3');
      const { json } = await eureka.getJson('/apps/delta');
      const actions = Object.fromEntries(json.applications.application[0].instance.map((i) => [i.instanceId, i.actionType]));
      assert.deepEqual(actions, { '10.255.0.2:g1': 'ADDED', '10.255.0.3:g2': 'MODIFIED', '10.255.0.4:g3': 'DELETED' });
      assert.equal(json.applications.apps__hashcode, 'OUT_OF_SERVICE_1_UP_1_');
    });

    it('forgets delta entries older than three minutes', async () => {
      await eureka.register(agentRegistration());
      const fresh = (await eureka.getJson('/apps/delta')).json.applications.application;
      assert.equal(fresh[0].instance[0].actionType, 'ADDED');
      await admin(double, 'POST', '/clock', { advance: 181 });
      const { json } = await eureka.getJson('/apps/delta');
      assert.deepEqual(json.applications.application, [], 'a three-minute-old change is still in the delta');
      assert.equal(json.applications.apps__hashcode, 'UP_1_', 'the hashcode covers the whole registry');
    });
  });

  describe('content negotiation', () => {
    it('answers XML when Accept has no "json", including */* and no Accept at all', async () => {
      await eureka.register(agentRegistration());
      for (const accept of [undefined, '*/*', 'application/xml', 'text/html']) {
        const headers = accept ? { Accept: accept } : {};
        const res = await eureka.call('GET', '/apps/MY-CLUSTER', { headers });
        assert.equal(res.status, 200);
        assert.match(res.headers['content-type'], /^application\/xml/, `Accept ${accept}`);
        assert.match(res.body, /^<application><name>MY-CLUSTER<\/name><instance><instanceId>10\.255\.0\.2:a1b2c3d4/);
        assert.match(res.body, /<port enabled="true">9001<\/port>/);
        assert.match(res.body, /<erlangNodeName>app@10\.255\.0\.2<\/erlangNodeName>/);
      }
    });

    it('answers JSON whenever Accept contains "json"', async () => {
      await eureka.register(agentRegistration());
      const res = await eureka.call('GET', '/apps', { headers: { Accept: 'application/xml;q=0.9, application/json' } });
      assert.match(res.headers['content-type'], /^application\/json/);
      assert.equal(JSON.parse(res.body).applications.application[0].name, 'MY-CLUSTER');
    });

    it('escapes XML and writes empty metadata as an EmptyMap element', async () => {
      const reg = agentRegistration();
      delete reg.instance.metadata;
      reg.instance.homePageUrl = 'http://x/?a=1&b=<2>';
      await eureka.register(reg);
      const res = await eureka.call('GET', '/apps/MY-CLUSTER', { headers: { Accept: 'application/xml' } });
      assert.match(res.body, /<metadata class="java\.util\.Collections\$EmptyMap"\/>/);
      assert.match(res.body, /<homePageUrl>http:\/\/x\/\?a=1&amp;b=&lt;2&gt;<\/homePageUrl>/);
    });

    it('gzips /apps and /apps/delta when Accept-Encoding allows it, and only then', async () => {
      await eureka.register(agentRegistration());
      for (const route of ['/apps', '/apps/delta']) {
        const zipped = await eureka.call('GET', route, { headers: { Accept: 'application/json', 'Accept-Encoding': 'gzip, deflate' } });
        assert.equal(zipped.headers['content-encoding'], 'gzip', route);
        assert.equal(zipped.raw[0], 0x1f);
        assert.ok(JSON.parse(zipped.body).applications);
        const plain = await eureka.call('GET', route, { headers: { Accept: 'application/json' } });
        assert.equal(plain.headers['content-encoding'], undefined);
        assert.ok(JSON.parse(plain.body).applications);
      }
    });

    it('rejects a registration that is not JSON with 415', async () => {
      const res = await eureka.call('POST', '/apps/MY-CLUSTER', {
        headers: { 'Content-Type': 'application/xml' }, body: '<instance/>',
      });
      assert.equal(res.status, 415);
    });
  });

  describe('single-object mode', () => {
    it('collapses one-element instance and application arrays, and only those', async () => {
      await admin(double, 'POST', '/config', { singleObject: true });
      await eureka.register(agentRegistration({ ip: '10.255.0.2', guid: 'g1' }));
      let app = (await eureka.getJson('/apps/MY-CLUSTER')).json.application;
      assert.ok(!Array.isArray(app.instance));
      assert.equal(app.instance.instanceId, '10.255.0.2:g1');
      const apps = (await eureka.getJson('/apps')).json.applications;
      assert.ok(!Array.isArray(apps.application));
      assert.equal(apps.application.instance.instanceId, '10.255.0.2:g1');
      await eureka.register(agentRegistration({ ip: '10.255.0.3', guid: 'g2' }));
      app = (await eureka.getJson('/apps/MY-CLUSTER')).json.application;
      assert.ok(Array.isArray(app.instance));
      assert.equal(app.instance.length, 2);
    });

    it('keeps arrays by default', async () => {
      await eureka.register(agentRegistration());
      const app = (await eureka.getJson('/apps/MY-CLUSTER')).json.application;
      assert.ok(Array.isArray(app.instance));
    });
  });

  describe('status overrides and metadata', () => {
    it('sets an override that survives re-registration and is removed by DELETE .../status', async () => {
      const reg = agentRegistration();
      const id = reg.instance.instanceId;
      await eureka.register(reg);
      assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${id}/status?value=OUT_OF_SERVICE`)).status, 200);
      assert.equal((await eureka.register(reg)).status, 204);
      let inst = (await eureka.getJson(`/apps/MY-CLUSTER/${id}`)).json.instance;
      assert.equal(inst.status, 'OUT_OF_SERVICE');
      assert.equal(inst.overriddenStatus, 'OUT_OF_SERVICE');
      assert.equal((await eureka.call('DELETE', `/apps/MY-CLUSTER/${id}/status?value=UP`)).status, 200);
      inst = (await eureka.getJson(`/apps/MY-CLUSTER/${id}`)).json.instance;
      assert.equal(inst.status, 'UP');
      assert.equal(inst.overriddenStatus, 'UNKNOWN');
      assert.equal((await eureka.register(reg)).status, 204);
      inst = (await eureka.getJson(`/apps/MY-CLUSTER/${id}`)).json.instance;
      assert.equal(inst.status, 'UP');
    });

    it('answers 404 to overrides and metadata of unknown instances', async () => {
      assert.equal((await eureka.call('PUT', '/apps/MY-CLUSTER/nope/status?value=DOWN')).status, 404);
      assert.equal((await eureka.call('DELETE', '/apps/MY-CLUSTER/nope/status')).status, 404);
      assert.equal((await eureka.call('PUT', '/apps/MY-CLUSTER/nope/metadata?a=b')).status, 404);
    });

    it('makes a renewal answer 404 after the override is removed without a new status', async () => {
      const reg = agentRegistration();
      const id = reg.instance.instanceId;
      await eureka.register(reg);
      await eureka.call('PUT', `/apps/MY-CLUSTER/${id}/status?value=OUT_OF_SERVICE`);
      assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${id}`)).status, 200);
      await eureka.call('DELETE', `/apps/MY-CLUSTER/${id}/status`);
      assert.equal((await eureka.getJson(`/apps/MY-CLUSTER/${id}`)).json.instance.status, 'UNKNOWN');
      assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${id}`)).status, 404);
    });

    it('merges metadata set with PUT .../metadata', async () => {
      const reg = agentRegistration();
      const id = reg.instance.instanceId;
      await eureka.register(reg);
      assert.equal((await eureka.call('PUT', `/apps/MY-CLUSTER/${id}/metadata?zone=z1&erlangDistPort=9002`)).status, 200);
      const { metadata } = (await eureka.getJson(`/apps/MY-CLUSTER/${id}`)).json.instance;
      assert.equal(metadata.zone, 'z1');
      assert.equal(metadata.erlangDistPort, '9002');
      assert.equal(metadata.erlangNodeName, 'app@10.255.0.2');
    });
  });
});
