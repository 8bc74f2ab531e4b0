'use strict';
// A flood of made-up instances for hostile-registry tests: `count` UP instances of one app
// with a cluster member's metadata, each with its own node name, served `perAnswer` at a time
// next to the real leases, the window moving on with every GET of the app. So a client sees
// `count` distinct names over time while each answer stays under its size cap, as a registry
// that anyone can write to might look. The instances are never stored: they are rendered from
// the same lease shape a registration makes (string-typed fields, leaseInfo, metadata), so the
// client parses them like real ones.

const { parseRegistration } = require('./registry');

class FloodError extends Error {}

// Checks and completes a flood config: {app, count, perAnswer, cluster, port, addresses, fixed,
// first}. fixed: every answer lists the same instances 0..perAnswer-1 (names a neighbour keeps
// registered for good) instead of a moving window; first: they come before the real leases.
// addresses: templates, instance i takes addresses[i % length] with {a} = (i / 250) % 250 and
// {b} = 1 + i % 250 filled in (127.100.{a}.{b}, 198.51.100.{b}, or a fixed 127.0.0.13).
function checkFlood(value) {
  if (value === null || value === 'off') return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new FloodError('flood: expected an object or null');
  const whole = (key, min, max) => {
    const n = value[key];
    if (!Number.isInteger(n) || n < min || n > max) throw new FloodError(`flood.${key}: expected a whole number ${min}-${max}, got ${JSON.stringify(n)}`);
    return n;
  };
  const text = (key) => {
    if (typeof value[key] !== 'string' || value[key] === '') throw new FloodError(`flood.${key}: expected a non-empty string`);
    return value[key];
  };
  const addresses = value.addresses;
  if (!Array.isArray(addresses) || addresses.length === 0 || !addresses.every((a) => typeof a === 'string' && a !== '')) {
    throw new FloodError('flood.addresses: expected a non-empty list of address templates like "127.100.{a}.{b}"');
  }
  const flag = (key) => {
    if (value[key] === undefined) return false;
    if (typeof value[key] !== 'boolean') throw new FloodError(`flood.${key}: expected true or false, got ${JSON.stringify(value[key])}`);
    return value[key];
  };
  return {
    fixed: flag('fixed'),
    first: flag('first'),
    app: text('app').toUpperCase(),
    cluster: text('cluster'),
    count: whole('count', 1, 10000000),
    perAnswer: whole('perAnswer', 1, 100000),
    port: whole('port', 1, 65535),
    addresses: [...addresses],
  };
}

function floodAddress(flood, i) {
  const template = flood.addresses[i % flood.addresses.length];
  return template.replace('{a}', String(Math.floor(i / 250) % 250)).replace('{b}', String(1 + (i % 250)));
}

// The i-th instance as a lease, as Registry.register would hold it.
function floodLease(flood, i, now) {
  const ip = floodAddress(flood, i);
  const info = parseRegistration({
    instance: {
      instanceId: `flood-${i}`, hostName: ip, app: flood.app, ipAddr: ip, status: 'UP',
      port: { $: flood.port, '@enabled': 'true' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      metadata: {
        erlangNodeName: `flood${i}@${ip}`, erlangDistPort: String(flood.port),
        erlangDistMode: 'epmd-less', erlangCluster: flood.cluster,
      },
    },
  }, flood.app);
  info.lastDirtyTimestamp = now;
  info.overriddenStatus = 'UNKNOWN';
  info.lastUpdatedTimestamp = now;
  info.actionType = 'ADDED';
  return {
    info, durationMs: info.durationInSecs * 1000, registrationTimestamp: now,
    lastUpdateTimestamp: now, renewedAt: now, evictionTimestamp: 0, serviceUpTimestamp: now,
  };
}

// The next window of the flood (advances state.next unless fixed), or [] when the app is not
// flooded.
function floodWindow(flood, state, app, now) {
  if (!flood || flood.app !== app) return [];
  if (flood.fixed) {
    const n = Math.min(flood.perAnswer, flood.count);
    state.served = n;
    return Array.from({ length: n }, (_, i) => floodLease(flood, i, now));
  }
  const out = [];
  for (let k = 0; k < flood.perAnswer; k++) {
    out.push(floodLease(flood, state.next % flood.count, now));
    state.next += 1;
  }
  state.served = Math.min(flood.count, Math.max(state.served, state.next));
  return out;
}

module.exports = { FloodError, checkFlood, floodWindow, floodAddress };
