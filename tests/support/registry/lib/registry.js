'use strict';
// In-memory Eureka registry: leases, status overrides, the recent-changes queue behind
// /apps/delta, eviction and self-preservation, modelled on the real server's rules.

const STATUSES = new Set(['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE', 'UNKNOWN']);
const DEFAULT_DURATION_SECS = 90;
const DEFAULT_RENEWAL_SECS = 30;
const RENEWAL_PERCENT_THRESHOLD = 0.85;
const DELTA_RETENTION_MS = 3 * 60 * 1000;
const EMPTY_MAP_CLASS = 'java.util.Collections$EmptyMap';

class BadRequest extends Error {}

function isBlank(value) {
  return value === undefined || value === null || String(value).trim() === '';
}

// Ports must be objects like {"$": 9001, "@enabled": "true"}; the real server's
// deserializer rejects a bare number.
function parsePort(raw, field, defaultPort, defaultEnabled) {
  if (raw === undefined || raw === null) return { port: defaultPort, enabled: defaultEnabled };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new BadRequest(`Cannot parse ${field}: expected an object like {"$": 9001, "@enabled": "true"}, got ${JSON.stringify(raw)}`);
  }
  let port = defaultPort;
  if (raw.$ !== undefined) {
    const n = typeof raw.$ === 'string' ? Number(raw.$) : raw.$;
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      throw new BadRequest(`Cannot parse ${field}: "$" must be a port number, got ${JSON.stringify(raw.$)}`);
    }
    port = n;
  }
  let enabled = defaultEnabled;
  if (raw['@enabled'] !== undefined) enabled = String(raw['@enabled']) === 'true';
  return { port, enabled };
}

function parseMetadata(raw) {
  const metadata = {};
  if (raw === undefined || raw === null) return metadata;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new BadRequest('Cannot parse metadata: expected an object of string values');
  }
  for (const [key, value] of Object.entries(raw)) {
    if (key === '@class' && value === EMPTY_MAP_CLASS) continue;
    if (value !== null && typeof value === 'object') {
      throw new BadRequest(`Cannot parse metadata: value of "${key}" must be a string`);
    }
    metadata[key] = value === null ? '' : String(value);
  }
  return metadata;
}

function parseTimestamp(raw, fallback) {
  if (isBlank(raw)) return fallback;
  const n = Number(raw);
  return Number.isFinite(n) ? n : fallback;
}

// Validate a registration body the way the real server does: first deserialization
// (shape errors), then ApplicationResource's field checks, in the server's order.
function parseRegistration(body, pathApp) {
  if (body === null || typeof body !== 'object' || Array.isArray(body) ||
      body.instance === null || typeof body.instance !== 'object' || Array.isArray(body.instance)) {
    throw new BadRequest('Cannot parse request body: expected {"instance": {...}}');
  }
  const raw = body.instance;
  const dci = raw.dataCenterInfo;
  if (dci !== undefined && dci !== null) {
    if (typeof dci !== 'object' || Array.isArray(dci)) {
      throw new BadRequest('Cannot parse dataCenterInfo: expected an object with "@class" and "name"');
    }
    if (isBlank(dci['@class'])) throw new BadRequest('Missing dataCenterInfo @class');
  }
  const port = parsePort(raw.port, 'port', 7001, true);
  const securePort = parsePort(raw.securePort, 'securePort', 7002, false);
  const metadata = parseMetadata(raw.metadata);
  if (raw.status !== undefined && !STATUSES.has(String(raw.status))) {
    throw new BadRequest(`Cannot parse status: ${JSON.stringify(raw.status)} is not one of ${[...STATUSES].join(', ')}`);
  }
  const lease = raw.leaseInfo && typeof raw.leaseInfo === 'object' ? raw.leaseInfo : {};
  const app = isBlank(raw.app) ? '' : String(raw.app).toUpperCase();
  const hostName = isBlank(raw.hostName) ? '' : String(raw.hostName);
  // The instance id falls back to the host name, as InstanceInfo.getId() does.
  const instanceId = isBlank(raw.instanceId) ? hostName : String(raw.instanceId);

  if (isBlank(instanceId)) throw new BadRequest('Missing instanceId');
  if (isBlank(hostName)) throw new BadRequest('Missing hostname');
  if (isBlank(raw.ipAddr)) throw new BadRequest('Missing ip address');
  if (isBlank(app)) throw new BadRequest('Missing appName');
  if (app !== pathApp) throw new BadRequest(`Mismatched appName, expecting ${pathApp} but was ${app}`);
  if (dci === undefined || dci === null) throw new BadRequest('Missing dataCenterInfo');
  if (isBlank(dci.name)) throw new BadRequest('Missing dataCenterInfo Name');

  const positive = (v, d) => (Number.isInteger(Number(v)) && Number(v) > 0 ? Number(v) : d);
  const optional = (v) => (isBlank(v) ? undefined : String(v));
  return {
    instanceId,
    hostName,
    app,
    ipAddr: String(raw.ipAddr),
    status: raw.status === undefined ? 'UP' : String(raw.status),
    port,
    securePort,
    countryId: positive(raw.countryId, 1),
    dataCenterInfo: { '@class': String(dci['@class']), name: String(dci.name) },
    renewalIntervalInSecs: positive(lease.renewalIntervalInSecs, DEFAULT_RENEWAL_SECS),
    durationInSecs: positive(lease.durationInSecs, DEFAULT_DURATION_SECS),
    metadata,
    homePageUrl: optional(raw.homePageUrl),
    statusPageUrl: optional(raw.statusPageUrl),
    healthCheckUrl: optional(raw.healthCheckUrl),
    vipAddress: optional(raw.vipAddress),
    secureVipAddress: optional(raw.secureVipAddress),
    lastDirtyTimestamp: parseTimestamp(raw.lastDirtyTimestamp, undefined),
  };
}

class Registry {
  // clock: { now() } in ms; options: { selfPreservation, random }
  constructor(clock, options = {}) {
    this.clock = clock;
    this.selfPreservation = Boolean(options.selfPreservation);
    this.random = options.random || Math.random;
    this.clear();
  }

  clear() {
    this.apps = new Map();          // APP -> Map(instanceId -> lease)
    this.overrides = new Map();     // instanceId -> status
    this.recentChanges = [];        // { time, instance snapshot with actionType }
    this.renewTimes = [];           // ms timestamps of successful renewals, last minute
    this.expectedClients = 0;
    this.deltaVersion = 0;
  }

  findLease(app, id) {
    const leases = this.apps.get(app);
    return leases ? leases.get(id) : undefined;
  }

  findLeaseById(id) {
    for (const leases of this.apps.values()) {
      if (leases.has(id)) return leases.get(id);
    }
    return undefined;
  }

  allLeases() {
    const out = [];
    for (const leases of this.apps.values()) out.push(...leases.values());
    return out;
  }

  leasesOf(app) {
    const leases = this.apps.get(app);
    return leases ? [...leases.values()] : [];
  }

  size() {
    let n = 0;
    for (const leases of this.apps.values()) n += leases.size;
    return n;
  }

  recordChange(lease, actionType) {
    const now = this.clock.now();
    lease.info.actionType = actionType;
    lease.info.lastUpdatedTimestamp = now;
    this.recentChanges.push({ time: now, lease: snapshot(lease) });
    this.deltaVersion += 1;
  }

  // Returns the stored lease. Throws BadRequest for anything the real server answers 400 to.
  register(body, pathApp) {
    const info = parseRegistration(body, pathApp);
    const now = this.clock.now();
    const existing = this.findLease(info.app, info.instanceId);
    if (info.lastDirtyTimestamp === undefined) info.lastDirtyTimestamp = now;
    if (existing && existing.info.lastDirtyTimestamp > info.lastDirtyTimestamp) {
      // The server keeps the instance it already has when that one is newer.
      Object.assign(info, existing.info);
    }
    const override = this.overrides.get(info.instanceId);
    info.overriddenStatus = override || 'UNKNOWN';
    if (override) info.status = override;
    const lease = {
      info,
      durationMs: info.durationInSecs * 1000,
      registrationTimestamp: now,
      lastUpdateTimestamp: now,
      renewedAt: now,
      evictionTimestamp: 0,
      serviceUpTimestamp: existing ? existing.serviceUpTimestamp : 0,
    };
    if (info.status === 'UP' && !lease.serviceUpTimestamp) lease.serviceUpTimestamp = now;
    if (!this.apps.has(info.app)) this.apps.set(info.app, new Map());
    this.apps.get(info.app).set(info.instanceId, lease);
    if (!existing) this.expectedClients += 1;
    this.recordChange(lease, 'ADDED');
    return lease;
  }

  // Returns 200 or 404 like InstanceResource.renewLease.
  renew(app, id, lastDirtyTimestamp) {
    const lease = this.findLease(app, id);
    if (!lease) return 404;
    // With no override in force, an UNKNOWN instance cannot be renewed: the client must
    // register again (the server's overridden-status rules).
    if (lease.info.status === 'UNKNOWN') return 404;
    const now = this.clock.now();
    // The real Lease.renew() stores now + duration as the "last update", so the
    // expiry check below adds the duration a second time (the 2 x duration quirk).
    lease.lastUpdateTimestamp = now + lease.durationMs;
    lease.renewedAt = now;
    this.renewTimes.push(now);
    if (!isBlank(lastDirtyTimestamp)) {
      const claimed = Number(lastDirtyTimestamp);
      if (Number.isFinite(claimed) && claimed > lease.info.lastDirtyTimestamp) return 404;
    }
    return 200;
  }

  cancel(app, id) {
    const lease = this.findLease(app, id);
    if (!lease) return 404;
    this.remove(lease);
    if (this.expectedClients > 0) this.expectedClients -= 1;
    return 200;
  }

  remove(lease) {
    const leases = this.apps.get(lease.info.app);
    leases.delete(lease.info.instanceId);
    if (leases.size === 0) this.apps.delete(lease.info.app);
    this.overrides.delete(lease.info.instanceId);
    lease.evictionTimestamp = this.clock.now();
    this.recordChange(lease, 'DELETED');
  }

  setStatusOverride(app, id, value) {
    const lease = this.findLease(app, id);
    if (!lease) return 404;
    this.overrides.set(id, value);
    lease.info.overriddenStatus = value;
    lease.info.status = value;
    if (value === 'UP' && !lease.serviceUpTimestamp) lease.serviceUpTimestamp = this.clock.now();
    lease.info.lastDirtyTimestamp = this.clock.now();
    this.recordChange(lease, 'MODIFIED');
    return 200;
  }

  deleteStatusOverride(app, id, newStatus) {
    const lease = this.findLease(app, id);
    if (!lease) return 404;
    this.overrides.delete(id);
    lease.info.overriddenStatus = 'UNKNOWN';
    lease.info.status = newStatus || 'UNKNOWN';
    lease.info.lastDirtyTimestamp = this.clock.now();
    this.recordChange(lease, 'MODIFIED');
    return 200;
  }

  updateMetadata(app, id, entries) {
    const lease = this.findLease(app, id);
    if (!lease) return 404;
    Object.assign(lease.info.metadata, entries);
    lease.info.lastDirtyTimestamp = this.clock.now();
    this.recordChange(lease, 'MODIFIED');
    return 200;
  }

  isExpired(lease) {
    return lease.evictionTimestamp > 0 ||
      this.clock.now() > lease.lastUpdateTimestamp + lease.durationMs;
  }

  renewsLastMinute() {
    const since = this.clock.now() - 60 * 1000;
    this.renewTimes = this.renewTimes.filter((t) => t > since);
    return this.renewTimes.length;
  }

  renewsThreshold() {
    return Math.floor(this.expectedClients * (60 / DEFAULT_RENEWAL_SECS) * RENEWAL_PERCENT_THRESHOLD);
  }

  isLeaseExpirationEnabled() {
    if (!this.selfPreservation) return true;
    const threshold = this.renewsThreshold();
    return threshold > 0 && this.renewsLastMinute() > threshold;
  }

  // One run of the eviction task; returns the evicted instance ids.
  evict() {
    if (!this.isLeaseExpirationEnabled()) return [];
    const expired = this.allLeases().filter((l) => this.isExpired(l));
    const size = this.size();
    const limit = size - Math.floor(size * RENEWAL_PERCENT_THRESHOLD);
    const evicted = [];
    while (expired.length > 0 && evicted.length < limit) {
      const [lease] = expired.splice(Math.floor(this.random() * expired.length), 1);
      this.remove(lease);
      evicted.push(lease.info.instanceId);
    }
    return evicted;
  }

  pruneRecentChanges() {
    const since = this.clock.now() - DELTA_RETENTION_MS;
    this.recentChanges = this.recentChanges.filter((c) => c.time >= since);
  }
}

function snapshot(lease) {
  return {
    ...lease,
    info: {
      ...lease.info,
      port: { ...lease.info.port },
      securePort: { ...lease.info.securePort },
      metadata: { ...lease.info.metadata },
      dataCenterInfo: { ...lease.info.dataCenterInfo },
    },
  };
}

module.exports = { Registry, BadRequest, STATUSES, EMPTY_MAP_CLASS, parseRegistration };
