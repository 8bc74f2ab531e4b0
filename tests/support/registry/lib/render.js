'use strict';
// Output forms of the registry, as the real server writes them: JSON (Jackson codec) with
// string-typed timestamps and flags, or XML (XStream codec).

const { EMPTY_MAP_CLASS } = require('./registry');

// The instance as the server would serialize it, in JSON field order.
function instanceView(lease) {
  const info = lease.info;
  const view = {
    instanceId: info.instanceId,
    hostName: info.hostName,
    app: info.app,
    ipAddr: info.ipAddr,
    status: info.status,
    overriddenStatus: info.overriddenStatus,
    port: { $: info.port.port, '@enabled': String(info.port.enabled) },
    securePort: { $: info.securePort.port, '@enabled': String(info.securePort.enabled) },
    countryId: info.countryId,
    dataCenterInfo: { ...info.dataCenterInfo },
    leaseInfo: {
      renewalIntervalInSecs: info.renewalIntervalInSecs,
      durationInSecs: info.durationInSecs,
      registrationTimestamp: lease.registrationTimestamp,
      // The real server reports its internal "last update" here, which a renewal sets
      // to now + duration.
      lastRenewalTimestamp: lease.lastUpdateTimestamp,
      evictionTimestamp: lease.evictionTimestamp,
      serviceUpTimestamp: lease.serviceUpTimestamp,
    },
    metadata: Object.keys(info.metadata).length === 0
      ? { '@class': EMPTY_MAP_CLASS }
      : { ...info.metadata },
  };
  for (const key of ['homePageUrl', 'statusPageUrl', 'healthCheckUrl', 'vipAddress', 'secureVipAddress']) {
    if (info[key] !== undefined) view[key] = info[key];
  }
  view.isCoordinatingDiscoveryServer = 'false';
  view.lastUpdatedTimestamp = String(info.lastUpdatedTimestamp);
  view.lastDirtyTimestamp = String(info.lastDirtyTimestamp);
  view.actionType = info.actionType;
  return view;
}

// "DOWN_1_UP_3_": status counts sorted by status name, as apps__hashcode.
function appsHashcode(leases) {
  const counts = new Map();
  for (const lease of leases) counts.set(lease.info.status, (counts.get(lease.info.status) || 0) + 1);
  return [...counts.keys()].sort().map((s) => `${s}_${counts.get(s)}_`).join('');
}

function groupByApp(leases) {
  const apps = new Map();
  for (const lease of leases) {
    if (!apps.has(lease.info.app)) apps.set(lease.info.app, []);
    apps.get(lease.info.app).push(lease);
  }
  return [...apps.entries()].sort(([a], [b]) => a.localeCompare(b));
}

function collapse(list, singleObject) {
  return singleObject && list.length === 1 ? list[0] : list;
}

function applicationJson(name, leases, singleObject) {
  return { name, instance: collapse(leases.map(instanceView), singleObject) };
}

function applicationsJson(leases, versionsDelta, hashLeases, singleObject) {
  return {
    applications: {
      versions__delta: String(versionsDelta),
      apps__hashcode: appsHashcode(hashLeases),
      application: collapse(groupByApp(leases).map(([name, ls]) => applicationJson(name, ls, singleObject)), singleObject),
    },
  };
}

function escapeXml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;',
  }[c]));
}

function xmlName(key) {
  const name = String(key).replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z_]/.test(name) ? name : `_${name}`;
}

function el(name, value) {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

function instanceXml(lease) {
  const v = instanceView(lease);
  const parts = [
    el('instanceId', v.instanceId), el('hostName', v.hostName), el('app', v.app),
    el('ipAddr', v.ipAddr), el('status', v.status), el('overriddenstatus', v.overriddenStatus),
    `<port enabled="${v.port['@enabled']}">${v.port.$}</port>`,
    `<securePort enabled="${v.securePort['@enabled']}">${v.securePort.$}</securePort>`,
    el('countryId', v.countryId),
    `<dataCenterInfo class="${escapeXml(v.dataCenterInfo['@class'])}">${el('name', v.dataCenterInfo.name)}</dataCenterInfo>`,
    `<leaseInfo>${Object.entries(v.leaseInfo).map(([k, x]) => el(k, x)).join('')}</leaseInfo>`,
  ];
  const meta = lease.info.metadata;
  if (Object.keys(meta).length === 0) {
    parts.push(`<metadata class="${EMPTY_MAP_CLASS}"/>`);
  } else {
    parts.push(`<metadata>${Object.entries(meta).map(([k, x]) => el(xmlName(k), x)).join('')}</metadata>`);
  }
  for (const key of ['homePageUrl', 'statusPageUrl', 'healthCheckUrl', 'vipAddress', 'secureVipAddress',
    'isCoordinatingDiscoveryServer', 'lastUpdatedTimestamp', 'lastDirtyTimestamp', 'actionType']) {
    if (v[key] !== undefined) parts.push(el(key, v[key]));
  }
  return `<instance>${parts.join('')}</instance>`;
}

function applicationXml(name, leases) {
  return `<application>${el('name', name)}${leases.map(instanceXml).join('')}</application>`;
}

function applicationsXml(leases, versionsDelta, hashLeases) {
  return `<applications>${el('versions__delta', versionsDelta)}${el('apps__hashcode', appsHashcode(hashLeases))}` +
    `${groupByApp(leases).map(([name, ls]) => applicationXml(name, ls)).join('')}</applications>`;
}

// format: 'json' | 'xml'. Returns the body text.
function renderApplications(format, leases, versionsDelta, hashLeases, singleObject) {
  return format === 'json'
    ? JSON.stringify(applicationsJson(leases, versionsDelta, hashLeases, singleObject))
    : applicationsXml(leases, versionsDelta, hashLeases);
}

function renderApplication(format, name, leases, singleObject) {
  return format === 'json'
    ? JSON.stringify({ application: applicationJson(name, leases, singleObject) })
    : applicationXml(name, leases);
}

function renderInstance(format, lease) {
  return format === 'json' ? JSON.stringify({ instance: instanceView(lease) }) : instanceXml(lease);
}

module.exports = { instanceView, appsHashcode, renderApplications, renderApplication, renderInstance };
