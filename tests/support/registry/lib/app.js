'use strict';
// The double's request handling: Eureka REST (with auth, read-only cache, faults), the
// OAuth2 token endpoint, and the /_double admin API used by tests.

const zlib = require('node:zlib');
const { Registry, BadRequest, STATUSES } = require('./registry');
const { TokenStore } = require('./tokens');
const render = require('./render');
const { FloodError, checkFlood, floodWindow } = require('./flood');

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_ADMIN_BODY_BYTES = 64 * 1024 * 1024; // POST /_double/register with thousands of instances
const MAX_LOG_ENTRIES = 10000;
const DELTA_PRUNE_MS = 30 * 1000;
// Fault modes, for Eureka calls (`fault`, limited to `faultMethods` when set) and the token
// endpoint (`tokenFault`); README.md says what each one answers.
const FAULTS = new Set(['none', '503', '500', '401', 'hang', 'trickle', 'oversize', 'malformed', 'garbage',
  'truncated', 'redirect']);
const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE']);
const OVERSIZE_DEFAULT_BYTES = 64 * 1024 * 1024;
const TRICKLE_DEFAULT_MS = 200;
const EUREKA_PREFIXES = ['/eureka/v2', '/eureka'];

class ConfigError extends Error {}

// Checks and normalises a (partial) config; throws ConfigError naming the bad key.
function normaliseConfig(partial) {
  const out = {};
  const bool = (key, v) => {
    if (typeof v === 'boolean') return v;
    if (v === 'on' || v === 'true') return true;
    if (v === 'off' || v === 'false') return false;
    throw new ConfigError(`${key}: expected true/false (or on/off), got ${JSON.stringify(v)}`);
  };
  const seconds = (key, v, min) => {
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (!Number.isInteger(n) || n < min) {
      throw new ConfigError(`${key}: expected a whole number of seconds >= ${min}, got ${JSON.stringify(v)}`);
    }
    return n;
  };
  for (const [key, value] of Object.entries(partial)) {
    switch (key) {
      case 'auth': case 'singleObject': case 'selfPreservation':
        out[key] = bool(key, value);
        break;
      case 'tokenLifetime':
        out[key] = seconds(key, value, 1);
        break;
      case 'evictionInterval':
        out[key] = seconds(key, value, 1);
        break;
      case 'cache':
        if (value === 'off' || value === false || value === 0) out.cache = 0;
        else if (value === 'on' || value === true) out.cache = 30;
        else if (Number.isInteger(Number(value)) && Number(value) >= 1) out.cache = Number(value);
        else throw new ConfigError(`cache: expected off, on (30 s) or a whole number of seconds >= 1, got ${JSON.stringify(value)}`);
        break;
      case 'fault': case 'tokenFault':
        if (!FAULTS.has(String(value))) {
          throw new ConfigError(`${key}: expected one of ${[...FAULTS].join(', ')}, got ${JSON.stringify(value)}`);
        }
        out[key] = String(value);
        break;
      case 'faultMethods':
        if (value === null || value === 'all') {
          out[key] = null;
        } else if (Array.isArray(value) && value.length > 0
            && value.every((m) => typeof m === 'string' && HTTP_METHODS.has(m.toUpperCase()))) {
          out[key] = value.map((m) => m.toUpperCase());
        } else {
          throw new ConfigError(`${key}: expected "all" or a non-empty list of ${[...HTTP_METHODS].join(', ')}, got ${JSON.stringify(value)}`);
        }
        break;
      case 'redirectTo': {
        let url = null;
        try {
          url = typeof value === 'string' ? new URL(value) : null;
        } catch {
          url = null;
        }
        if (!url || !/^https?:$/.test(url.protocol)) {
          throw new ConfigError(`${key}: expected an http(s) URL like "http://127.0.0.5:8080", got ${JSON.stringify(value)}`);
        }
        out[key] = value.replace(/\/+$/, '');
        break;
      }
      case 'oversizeBytes':
        if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${key}: expected a whole number of bytes >= 1, got ${JSON.stringify(value)}`);
        out[key] = value;
        break;
      case 'trickleIntervalMs':
        if (!Number.isInteger(value) || value < 1 || value > 60000) {
          throw new ConfigError(`${key}: expected milliseconds 1-60000 between bytes, got ${JSON.stringify(value)}`);
        }
        out[key] = value;
        break;
      case 'flood':
        try {
          out.flood = checkFlood(value);
        } catch (e) {
          if (e instanceof FloodError) throw new ConfigError(e.message);
          throw e;
        }
        break;
      case 'clientId': case 'clientSecret':
        if (typeof value !== 'string' || value === '') throw new ConfigError(`${key}: expected a non-empty string`);
        out[key] = value;
        break;
      default:
        throw new ConfigError(`unknown config key ${JSON.stringify(key)}`);
    }
  }
  return out;
}

function publicConfig(config) {
  const shown = { ...config, cache: config.cache === 0 ? 'off' : config.cache };
  delete shown.clientSecret; // never shown anywhere
  return shown;
}

function authScheme(header) {
  if (!header) return 'none';
  const scheme = header.split(/\s+/)[0].toLowerCase();
  return scheme === 'bearer' || scheme === 'basic' ? scheme : 'other';
}

function wantsJson(req) {
  return (req.headers.accept || '').toLowerCase().includes('json');
}

function acceptsGzip(req) {
  const header = (req.headers['accept-encoding'] || '').toLowerCase();
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().split(';');
    if (coding.trim() !== 'gzip') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  });
}

function readBody(req, maxBytes = MAX_BODY_BYTES) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

class RegistryDouble {
  // startConfig: full config; options: { verbose, random }
  constructor(startConfig, options = {}) {
    this.startConfig = { ...startConfig };
    this.verbose = Boolean(options.verbose);
    this.clockOffsetMs = 0;
    this.clock = { now: () => Date.now() + this.clockOffsetMs };
    this.registry = new Registry(this.clock, { random: options.random });
    this.tokens = new TokenStore(this.clock);
    this.cache = new Map();
    this.log = [];
    this.seq = 0;
    this.timers = {};
    this.applyConfig({ ...startConfig }, true);
    this.timers.prune = setInterval(() => this.registry.pruneRecentChanges(), DELTA_PRUNE_MS);
  }

  applyConfig(partial, replace = false) {
    const previous = this.config || {};
    this.config = replace ? { ...partial } : { ...previous, ...partial };
    if (replace || previous.flood !== this.config.flood) this.floodState = { next: 0, served: 0 };
    this.registry.selfPreservation = this.config.selfPreservation;
    if (replace || previous.evictionInterval !== this.config.evictionInterval) {
      clearInterval(this.timers.evict);
      this.timers.evict = setInterval(() => this.runEviction(), this.config.evictionInterval * 1000);
    }
    if (replace || previous.cache !== this.config.cache || previous.singleObject !== this.config.singleObject) {
      clearInterval(this.timers.cache);
      this.cache.clear();
      if (this.config.cache > 0) {
        this.timers.cache = setInterval(() => this.refreshCache(), this.config.cache * 1000);
      }
    }
  }

  runEviction() {
    const evicted = this.registry.evict();
    if (this.verbose && evicted.length > 0) process.stderr.write(`registry double: evicted ${evicted.join(', ')}\n`);
    return evicted;
  }

  // Like the real server's timer: every cached key is recomputed from the live registry.
  refreshCache() {
    for (const [key, entry] of this.cache) this.cache.set(key, { ...entry.compute(), compute: entry.compute });
  }

  stop() {
    for (const timer of Object.values(this.timers)) clearInterval(timer);
  }

  reset() {
    this.registry.clear();
    this.tokens.clear();
    this.log = [];
    this.clockOffsetMs = 0;
    this.applyConfig({ ...this.startConfig }, true);
  }

  // A cacheable GET: served from the read-only cache when it is on.
  cached(key, compute) {
    if (this.config.cache === 0) return compute();
    const hit = this.cache.get(key);
    if (hit) return hit;
    const entry = { ...compute(), compute };
    this.cache.set(key, entry);
    return entry;
  }

  async handle(req, res, listener) {
    const url = new URL(req.url, 'http://double.invalid');
    const path = url.pathname;
    if (path === '/_double' || path.startsWith('/_double/')) {
      return this.handleAdmin(req, res, url);
    }
    const entry = {
      seq: ++this.seq,
      time: new Date().toISOString(),
      listener,
      method: req.method,
      path,
      query: url.search.slice(1),
      accept: req.headers.accept || null,
      contentType: req.headers['content-type'] || null,
      acceptEncoding: req.headers['accept-encoding'] || null,
      auth: authScheme(req.headers.authorization),
      tokenValid: null,
      status: null,
      body: null,
      durationMs: null,
      completed: null,
    };
    const startedAt = Date.now();
    this.log.push(entry);
    if (this.log.length > MAX_LOG_ENTRIES) this.log.shift();
    res.on('finish', () => {
      entry.status = res.statusCode;
      if (this.verbose) process.stderr.write(`registry double: ${req.method} ${path} ${res.statusCode}\n`);
    });
    // How long the exchange lasted and whether the answer was sent in full (a client that
    // gives up on a trickled or oversized answer shows completed: false).
    res.on('close', () => {
      entry.durationMs = Date.now() - startedAt;
      entry.completed = res.writableFinished;
      if (entry.status === null && res.headersSent) entry.status = res.statusCode;
    });
    let body;
    try {
      body = await readBody(req);
    } catch (err) {
      return this.send(res, 400, `Cannot read request body: ${err.message}`);
    }
    if (path === '/oauth/token') return this.handleToken(req, res, body);
    const prefix = EUREKA_PREFIXES.find((p) => path === p || path.startsWith(`${p}/`));
    if (!prefix) return this.send(res, 404, `Not found: ${path}`);
    if (body && /json/i.test(req.headers['content-type'] || '')) {
      try {
        entry.body = JSON.parse(body);
      } catch {
        entry.body = null;
      }
    }
    if (this.fault(req, res, this.config.fault, 'eureka')) return undefined;
    if (this.config.auth) {
      const problem = this.tokens.check(req.headers.authorization);
      entry.tokenValid = problem === null;
      if (problem) {
        return this.send(res, 401, JSON.stringify(problem), 'application/json',
          { 'WWW-Authenticate': `Bearer realm="registry", error="${problem.error}"` });
      }
    }
    return this.handleEureka(req, res, path.slice(prefix.length), url, body);
  }

  // Returns true when a fault mode answered (or swallowed) the request. `scope` is "eureka"
  // (limited to config.faultMethods) or "token". "truncated" answers normally: send() cuts
  // the body.
  fault(req, res, mode, scope) {
    if (mode === 'none') return false;
    if (scope === 'eureka' && this.config.faultMethods && !this.config.faultMethods.includes(req.method)) return false;
    switch (mode) {
      case '503': case '500':
        this.send(res, Number(mode), mode === '503' ? 'Service Unavailable' : 'Internal Server Error');
        return true;
      case '401':
        this.send(res, 401, JSON.stringify({ error: 'unauthorized', error_description: 'Bad credentials' }),
          'application/json', { 'WWW-Authenticate': 'Bearer realm="registry", error="unauthorized"' });
        return true;
      case 'hang':
        return true; // never answered; the connection stays open
      case 'malformed':
        this.send(res, 200, '{"application":{"name":"X","instance":[{"instanceId":"a",,"status":UP}]]', 'application/json');
        return true;
      case 'garbage':
        this.send(res, 200, Buffer.from([0x3c, 0x68, 0x74, 0x6d, 0x6c, 0x3e, 0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x0a, 0x7b]),
          'application/json');
        return true;
      case 'redirect': {
        if (!this.config.redirectTo) {
          this.send(res, 500, 'fault "redirect" needs redirectTo in the config');
          return true;
        }
        const url = new URL(req.url, 'http://double.invalid');
        this.send(res, 307, '', 'text/plain', { Location: `${this.config.redirectTo}${url.pathname}${url.search}` });
        return true;
      }
      case 'oversize':
        this.streamOversize(res);
        return true;
      case 'trickle':
        this.trickle(res);
        return true;
      case 'truncated':
        res.truncateBody = true;
        return false;
      default:
        return false;
    }
  }

  // 200 with a JSON-looking body of config.oversizeBytes, streamed (never held in memory)
  // until done or until the client hangs up.
  streamOversize(res) {
    const total = this.config.oversizeBytes || OVERSIZE_DEFAULT_BYTES;
    const head = Buffer.from('{"application":{"name":"OVERSIZE","instance":[');
    const unit = Buffer.from('{"instanceId":"filler","status":"DOWN"},'.repeat(1600));
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
    let sent = 0;
    const pump = () => {
      while (sent < total && !res.destroyed) {
        const chunk = sent === 0 ? Buffer.concat([head, unit]) : unit;
        const slice = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += slice.length;
        if (!res.write(slice)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    pump();
  }

  // 200, headers at once, then one byte of a never-ending JSON answer every
  // config.trickleIntervalMs: only a total timeout ends it.
  trickle(res) {
    const prefix = '{"application":{"name":"TRICKLE","instance":[';
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
    res.flushHeaders();
    let i = 0;
    const timer = setInterval(() => {
      if (res.destroyed) {
        clearInterval(timer);
        return;
      }
      res.write(i < prefix.length ? prefix[i] : ' ');
      i += 1;
    }, this.config.trickleIntervalMs || TRICKLE_DEFAULT_MS);
    res.on('close', () => clearInterval(timer));
  }

  handleToken(req, res, body) {
    if (this.fault(req, res, this.config.tokenFault, 'token')) return undefined;
    if (req.method !== 'POST') return this.send(res, 405, 'Method Not Allowed', 'text/plain', { Allow: 'POST' });
    const form = new URLSearchParams(body);
    const answer = this.tokens.grant({
      authorization: req.headers.authorization,
      form,
      clientId: this.config.clientId,
      clientSecret: this.config.clientSecret,
      lifetimeSecs: this.config.tokenLifetime,
    });
    return this.send(res, answer.status, JSON.stringify(answer.body), 'application/json',
      { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  }

  handleEureka(req, res, rest, url, body) {
    const segments = rest.split('/').slice(1).map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
    const method = req.method;
    const format = wantsJson(req) ? 'json' : 'xml';
    const single = this.config.singleObject;
    const reg = this.registry;

    if (segments[0] === 'instances' && segments.length === 2 && segments[1] !== '') {
      if (method !== 'GET') return this.notAllowed(res, 'GET');
      const lease = reg.findLeaseById(segments[1]);
      if (!lease) return this.send(res, 404, '');
      return this.sendFormatted(req, res, format, render.renderInstance(format, lease), false);
    }
    if (segments[0] !== 'apps') return this.send(res, 404, `Not found: ${url.pathname}`);

    // GET /apps, /apps/
    if (segments.length === 1 || (segments.length === 2 && segments[1] === '')) {
      if (method !== 'GET') return this.notAllowed(res, 'GET');
      const answer = this.cached(`apps|${format}`, () => {
        const leases = reg.allLeases();
        return { status: 200, body: render.renderApplications(format, leases, 1, leases, single) };
      });
      return this.sendFormatted(req, res, format, answer.body, true, answer.status);
    }
    const app = segments[1].toUpperCase();
    if (segments.length === 2 && segments[1] === 'delta') {
      if (method !== 'GET') return this.notAllowed(res, 'GET');
      const answer = this.cached(`delta|${format}`, () => {
        reg.pruneRecentChanges();
        const changed = new Map();
        for (const change of reg.recentChanges) {
          changed.set(`${change.lease.info.app}|${change.lease.info.instanceId}`, change.lease);
        }
        return {
          status: 200,
          body: render.renderApplications(format, [...changed.values()], reg.deltaVersion, reg.allLeases(), single),
        };
      });
      return this.sendFormatted(req, res, format, answer.body, true, answer.status);
    }
    if (segments.length === 2) {
      if (method === 'POST') return this.register(req, res, app, body);
      if (method !== 'GET') return this.notAllowed(res, 'GET, POST');
      const answer = this.cached(`app|${app}|${format}`, () => {
        const flood = floodWindow(this.config.flood, this.floodState, app, this.clock.now());
        const first = this.config.flood && this.config.flood.first;
        const leases = first ? [...flood, ...reg.leasesOf(app)] : [...reg.leasesOf(app), ...flood];
        if (leases.length === 0) return { status: 404, body: '' };
        return { status: 200, body: render.renderApplication(format, app, leases, single) };
      });
      if (answer.status === 404) return this.send(res, 404, '');
      return this.sendFormatted(req, res, format, answer.body, false);
    }
    const id = segments[2];
    if (segments.length === 3) {
      if (method === 'GET') {
        const lease = reg.findLease(app, id);
        if (!lease) return this.send(res, 404, '');
        return this.sendFormatted(req, res, format, render.renderInstance(format, lease), false);
      }
      if (method === 'PUT') return this.send(res, reg.renew(app, id, url.searchParams.get('lastDirtyTimestamp')), '');
      if (method === 'DELETE') return this.send(res, reg.cancel(app, id), '');
      return this.notAllowed(res, 'GET, PUT, DELETE');
    }
    if (segments.length === 4 && segments[3] === 'status') {
      const value = url.searchParams.get('value');
      if (value !== null && !STATUSES.has(value)) {
        return this.send(res, 400, `Invalid status value ${value}: expected one of ${[...STATUSES].join(', ')}`);
      }
      if (method === 'PUT') {
        if (value === null) return this.send(res, 400, 'Missing status value (?value=OUT_OF_SERVICE)');
        return this.send(res, reg.setStatusOverride(app, id, value), '');
      }
      if (method === 'DELETE') return this.send(res, reg.deleteStatusOverride(app, id, value), '');
      return this.notAllowed(res, 'PUT, DELETE');
    }
    if (segments.length === 4 && segments[3] === 'metadata') {
      if (method !== 'PUT') return this.notAllowed(res, 'PUT');
      return this.send(res, reg.updateMetadata(app, id, Object.fromEntries(url.searchParams)), '');
    }
    return this.send(res, 404, `Not found: ${url.pathname}`);
  }

  register(req, res, app, body) {
    if (!/json/i.test(req.headers['content-type'] || '')) {
      return this.send(res, 415, 'Unsupported Media Type: this registry double accepts JSON registrations only');
    }
    let parsed;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      return this.send(res, 400, `Cannot parse request body: ${err.message}`);
    }
    try {
      this.registry.register(parsed, app);
    } catch (err) {
      if (err instanceof BadRequest) return this.send(res, 400, err.message);
      throw err;
    }
    return this.send(res, 204, '');
  }

  async handleAdmin(req, res, url) {
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
    let body = {};
    try {
      const text = await readBody(req, MAX_ADMIN_BODY_BYTES);
      if (text.trim() !== '') body = JSON.parse(text);
    } catch (err) {
      return this.sendJson(res, 400, { error: `admin body must be JSON: ${err.message}` });
    }
    switch (route) {
      case 'GET /_double/state':
        return this.sendJson(res, 200, this.state(url.searchParams.get('app')));
      case 'GET /_double/requests': {
        const since = Number(url.searchParams.get('since') || 0);
        return this.sendJson(res, 200, { requests: this.log.filter((e) => e.seq > since) });
      }
      case 'POST /_double/config':
        try {
          if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ConfigError('expected a JSON object');
          this.applyConfig(normaliseConfig(body));
        } catch (err) {
          if (err instanceof ConfigError) return this.sendJson(res, 400, { error: err.message });
          throw err;
        }
        return this.sendJson(res, 200, { config: publicConfig(this.config) });
      case 'GET /_double/tokens':
        // The issued access tokens themselves, so tests can check that none leaks.
        return this.sendJson(res, 200, { tokens: this.tokens.allTokens() });
      case 'POST /_double/expire-tokens':
        this.tokens.expireAll();
        return this.sendJson(res, 200, { expired: true });
      case 'POST /_double/drop-leases':
        this.registry.clear();
        this.cache.clear();
        return this.sendJson(res, 200, { dropped: true });
      case 'POST /_double/register': {
        // Instances as a client would POST them ({instance} bodies without the wrapper),
        // for tests that need many or odd ones without a token each.
        const list = body && body.instances;
        if (!Array.isArray(list)) return this.sendJson(res, 400, { error: 'register: expected {"instances": [ {...}, ... ]}' });
        for (let i = 0; i < list.length; i += 1) {
          const inst = list[i];
          try {
            const app = inst && typeof inst.app === 'string' ? inst.app.toUpperCase() : '';
            this.registry.register({ instance: { ...inst, app } }, app);
          } catch (err) {
            if (err instanceof BadRequest) return this.sendJson(res, 400, { error: `register: instances[${i}]: ${err.message}`, registered: i });
            throw err;
          }
        }
        this.cache.clear();
        return this.sendJson(res, 200, { registered: list.length });
      }
      case 'POST /_double/deregister': {
        const ids = body && body.ids;
        if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
          return this.sendJson(res, 400, { error: 'deregister: expected {"ids": ["instanceId", ...]}' });
        }
        let removed = 0;
        for (const id of ids) {
          const lease = this.registry.findLeaseById(id);
          if (lease && this.registry.cancel(lease.info.app, id) === 200) removed += 1;
        }
        this.cache.clear();
        return this.sendJson(res, 200, { removed });
      }
      case 'POST /_double/evict':
        return this.sendJson(res, 200, { evicted: this.runEviction() });
      case 'POST /_double/refresh-cache':
        this.refreshCache();
        return this.sendJson(res, 200, { refreshed: this.cache.size });
      case 'POST /_double/clock': {
        const advance = body && body.advance;
        if (typeof advance !== 'number' || !(advance >= 0)) {
          return this.sendJson(res, 400, { error: 'clock: expected {"advance": seconds >= 0}' });
        }
        this.clockOffsetMs += Math.round(advance * 1000);
        return this.sendJson(res, 200, { offsetSeconds: this.clockOffsetMs / 1000 });
      }
      case 'POST /_double/reset':
        this.reset();
        return this.sendJson(res, 200, { config: publicConfig(this.config) });
      default:
        return this.sendJson(res, 404, { error: `unknown admin call ${route}` });
    }
  }

  state(app) {
    const wanted = app ? app.toUpperCase() : null;
    const instances = this.registry.allLeases()
      .filter((l) => !wanted || l.info.app === wanted)
      .map((lease) => ({
        ...render.instanceView(lease),
        _lease: {
          expiresAt: lease.lastUpdateTimestamp + lease.durationMs,
          lastRenewal: lease.renewedAt,
          expired: this.registry.isExpired(lease),
        },
      }));
    return {
      config: publicConfig(this.config),
      flood: { served: this.floodState.served, next: this.floodState.next },
      clock: { offsetSeconds: this.clockOffsetMs / 1000, now: this.clock.now() },
      instances,
      overrides: Object.fromEntries(this.registry.overrides),
      selfPreservation: {
        enabled: this.config.selfPreservation,
        expectedClients: this.registry.expectedClients,
        renewsThreshold: this.registry.renewsThreshold(),
        renewsLastMinute: this.registry.renewsLastMinute(),
      },
      tokens: { issued: this.tokens.issued, active: this.tokens.activeCount() },
      requests: this.log,
    };
  }

  notAllowed(res, allow) {
    return this.send(res, 405, 'Method Not Allowed', 'text/plain', { Allow: allow });
  }

  sendFormatted(req, res, format, body, gzipAllowed, status = 200) {
    const contentType = format === 'json' ? 'application/json' : 'application/xml';
    if (gzipAllowed && acceptsGzip(req)) {
      return this.send(res, status, zlib.gzipSync(body), contentType, { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' });
    }
    return this.send(res, status, body, contentType);
  }

  sendJson(res, status, value) {
    return this.send(res, status, `${JSON.stringify(value)}\n`, 'application/json');
  }

  send(res, status, body, contentType = 'text/plain', headers = {}) {
    let payload = Buffer.isBuffer(body) ? body : Buffer.from(body || '', 'utf8');
    if (res.truncateBody && payload.length > 1) payload = payload.subarray(0, Math.floor(payload.length / 2));
    const allHeaders = { ...headers };
    if (status !== 204 && payload.length > 0) {
      allHeaders['Content-Type'] = `${contentType}${contentType.startsWith('text/') || contentType === 'application/json' || contentType === 'application/xml' ? '; charset=utf-8' : ''}`;
    }
    if (status === 204) {
      res.writeHead(204, allHeaders);
      res.end();
      return undefined;
    }
    allHeaders['Content-Length'] = payload.length;
    res.writeHead(status, allHeaders);
    res.end(payload);
    return undefined;
  }
}

module.exports = { RegistryDouble, normaliseConfig, ConfigError, publicConfig };
