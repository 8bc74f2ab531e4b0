'use strict';
// Usage: node js-client-view.js EUREKA_BASE_URL APP
// Reads the registry through the npm eureka-js-client (a third-party Eureka client) and
// prints, as one JSON line, the instances it holds for APP: what any Eureka client sees of
// what our agent registered. With REGISTRY_DOUBLE_CLIENT_ID/_SECRET and TOKEN_URL in the
// environment it authenticates with OAuth2 client credentials (never on the command line).
// Exits 1 when the first registry fetch fails or takes longer than 10 s.

const path = require('node:path');
const { Eureka } = require(path.join(__dirname, 'node_modules', 'eureka-js-client'));

const [baseUrl, app] = process.argv.slice(2);
if (!baseUrl || !app) {
  process.stderr.write('usage: node js-client-view.js EUREKA_BASE_URL APP\n');
  process.exit(2);
}
const base = new URL(baseUrl);
const { TOKEN_URL, REGISTRY_DOUBLE_CLIENT_ID: id, REGISTRY_DOUBLE_CLIENT_SECRET: secret } = process.env;

async function token() {
  const basic = Buffer.from(`${id}:${secret}`).toString('base64');
  const res = await fetch(TOKEN_URL, {
    method: 'POST',
    headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  if (!res.ok) throw new Error(`token endpoint answered ${res.status}`);
  return (await res.json()).access_token;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const client = new Eureka({
  logger: silent,
  instance: {}, // not registering: only reading
  eureka: {
    host: base.hostname,
    port: Number(base.port),
    ssl: base.protocol === 'https:',
    servicePath: `${base.pathname.replace(/\/$/, '')}/apps/`,
    registerWithEureka: false,
    fetchRegistry: true,
    maxRetries: 0,
  },
  requestMiddleware: (opts, done) => {
    if (!TOKEN_URL) return done(opts);
    return token().then(
      (t) => done({ ...opts, headers: { ...(opts.headers || {}), Authorization: `Bearer ${t}` } }),
      (err) => { process.stderr.write(`${err.message}\n`); done(opts); },
    );
  },
});

const timer = setTimeout(() => {
  process.stderr.write('eureka-js-client fetched nothing within 10 s\n');
  process.exit(1);
}, 10000);
client.start((err) => {
  clearTimeout(timer);
  if (err) {
    process.stderr.write(`eureka-js-client: ${err.message || err}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify(client.getInstancesByAppId(app))}\n`);
  client.stop(() => process.exit(0));
});
