'use strict';
// The OAuth2 token endpoint and bearer-token checks on Eureka calls.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startDouble, admin, request, getToken, agentRegistration, eurekaClient } = require('./helpers');

function tokenRequest(double, { headers = {}, body = 'grant_type=client_credentials', method = 'POST' } = {}) {
  return request(double.ready.token_url, {
    method, headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body: method === 'POST' ? body : undefined,
  });
}

const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('token endpoint and bearer auth', () => {
  let double;
  before(async () => { double = await startDouble([]); });
  after(() => double.stop());
  beforeEach(() => admin(double, 'POST', '/reset'));

  it('grants a 30 s bearer token (expires_in 29) for HTTP Basic client credentials', async () => {
    const res = await tokenRequest(double, { headers: { Authorization: basic('test-client', 'test-secret') } });
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body);
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.expires_in, 29);
    assert.match(body.access_token, /^[0-9a-f]{48}$/);
  });

  it('grants a token for credentials sent as form fields', async () => {
    const res = await tokenRequest(double, { body: 'grant_type=client_credentials&client_id=test-client&client_secret=test-secret' });
    assert.equal(res.status, 200);
    assert.ok(JSON.parse(res.body).access_token);
  });

  it('refuses wrong or missing credentials with 401, and other grant types with 400', async () => {
    assert.equal((await tokenRequest(double, { headers: { Authorization: basic('test-client', 'wrong') } })).status, 401);
    assert.equal((await tokenRequest(double, { body: 'grant_type=client_credentials' })).status, 401);
    const grant = await tokenRequest(double, { headers: { Authorization: basic('test-client', 'test-secret') }, body: 'grant_type=password' });
    assert.equal(grant.status, 400);
    assert.equal(JSON.parse(grant.body).error, 'unsupported_grant_type');
    assert.equal((await tokenRequest(double, { method: 'GET' })).status, 405);
  });

  it('answers 401 with WWW-Authenticate to Eureka calls without a valid bearer token', async () => {
    const eureka = eurekaClient(double);
    const none = await eureka.register(agentRegistration());
    assert.equal(none.status, 401);
    assert.match(none.headers['www-authenticate'], /^Bearer /);
    assert.equal(JSON.parse(none.body).error, 'unauthorized');
    eureka.setToken('not-a-token');
    const bad = await eureka.getJson('/apps');
    assert.equal(bad.status, 401);
    assert.equal(JSON.parse(bad.body).error, 'invalid_token');
    const basicAuth = await eureka.call('GET', '/apps', { headers: { Authorization: basic('test-client', 'test-secret') } });
    assert.equal(basicAuth.status, 401);
    assert.equal((await admin(double, 'GET', '/state')).json.instances.length, 0);
  });

  it('accepts Eureka calls with a valid token', async () => {
    const eureka = eurekaClient(double, { token: await getToken(double) });
    assert.equal((await eureka.register(agentRegistration())).status, 204);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 200);
  });

  it('expires tokens after their lifetime, and a fresh token works again', async () => {
    await admin(double, 'POST', '/config', { tokenLifetime: 5 });
    const res = await tokenRequest(double, { headers: { Authorization: basic('test-client', 'test-secret') } });
    const { access_token: token, expires_in: expiresIn } = JSON.parse(res.body);
    assert.equal(expiresIn, 4);
    const eureka = eurekaClient(double, { token });
    await admin(double, 'POST', '/clock', { advance: 4 });
    assert.equal((await eureka.getJson('/apps')).status, 200);
    await admin(double, 'POST', '/clock', { advance: 1 });
    const expired = await eureka.getJson('/apps');
    assert.equal(expired.status, 401);
    assert.match(JSON.parse(expired.body).error_description, /expired/);
    eureka.setToken(await getToken(double));
    assert.equal((await eureka.getJson('/apps')).status, 200);
  });

  it('expire-tokens makes every issued token fail at once', async () => {
    const eureka = eurekaClient(double, { token: await getToken(double) });
    assert.equal((await eureka.getJson('/apps')).status, 200);
    await admin(double, 'POST', '/expire-tokens');
    assert.equal((await eureka.getJson('/apps')).status, 401);
    assert.deepEqual((await admin(double, 'GET', '/state')).json.tokens, { issued: 1, active: 0 });
  });

  it('logs the auth scheme and token validity, never the token or the secret', async () => {
    const token = await getToken(double);
    const eureka = eurekaClient(double, { token });
    await eureka.register(agentRegistration());
    await eurekaClient(double).getJson('/apps');
    const log = await admin(double, 'GET', '/requests');
    const entries = log.json.requests.map((e) => [e.method, e.path, e.auth, e.tokenValid, e.status]);
    assert.deepEqual(entries, [
      ['POST', '/oauth/token', 'basic', null, 200],
      ['POST', '/eureka/apps/MY-CLUSTER', 'bearer', true, 204],
      ['GET', '/eureka/apps', 'none', false, 401],
    ]);
    const state = await admin(double, 'GET', '/state');
    for (const text of [log.body, state.body]) {
      assert.ok(!text.includes(token), 'token leaked into the admin API');
      assert.ok(!text.includes('test-secret'), 'client secret leaked into the admin API');
    }
    assert.equal(log.json.requests[1].body.instance.metadata.erlangNodeName, 'app@10.255.0.2');
  });

  it('can switch auth off at run time', async () => {
    await admin(double, 'POST', '/config', { auth: false });
    assert.equal((await eurekaClient(double).getJson('/apps')).status, 200);
  });
});

describe('credentials from the environment', () => {
  let double;
  before(async () => {
    double = await startDouble([], { REGISTRY_DOUBLE_CLIENT_ID: 'env-id', REGISTRY_DOUBLE_CLIENT_SECRET: 'env-s3cret' });
  });
  after(() => double.stop());

  it('uses REGISTRY_DOUBLE_CLIENT_ID/SECRET instead of the defaults', async () => {
    assert.equal((await tokenRequest(double, { headers: { Authorization: basic('test-client', 'test-secret') } })).status, 401);
    assert.ok(await getToken(double, { id: 'env-id', secret: 'env-s3cret' }));
    const state = await admin(double, 'GET', '/state');
    assert.equal(state.json.config.clientId, 'env-id');
    assert.ok(!state.body.includes('env-s3cret'));
  });

  it('takes new credentials from the admin API without echoing the secret', async () => {
    const res = await admin(double, 'POST', '/config', { clientId: 'new-id', clientSecret: 'new-s3cret' });
    assert.ok(!res.body.includes('new-s3cret'));
    assert.ok(await getToken(double, { id: 'new-id', secret: 'new-s3cret' }));
  });
});

describe('without auth (user-provided registry)', () => {
  let double;
  before(async () => { double = await startDouble(['--auth', 'off']); });
  after(() => double.stop());

  it('serves Eureka calls with no Authorization header', async () => {
    const eureka = eurekaClient(double);
    assert.equal((await eureka.register(agentRegistration())).status, 204);
    assert.equal((await eureka.getJson('/apps/MY-CLUSTER')).status, 200);
  });
});
