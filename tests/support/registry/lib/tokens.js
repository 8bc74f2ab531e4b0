'use strict';
// OAuth2 client_credentials token issuing and checking, like the SCS UAA: opaque bearer
// tokens with a short lifetime, reported as expires_in = lifetime - 1.

const crypto = require('node:crypto');

function safeEqual(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function decodeFormValue(value) {
  try {
    return decodeURIComponent(String(value).replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

// Credentials from "Authorization: Basic" (form-encoded id:secret) or the form fields.
function clientCredentials(authorization, form) {
  const m = /^Basic\s+(\S+)\s*$/i.exec(authorization || '');
  if (m) {
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    return { id: decodeFormValue(decoded.slice(0, colon)), secret: decodeFormValue(decoded.slice(colon + 1)) };
  }
  if (form.has('client_id') && form.has('client_secret')) {
    return { id: form.get('client_id'), secret: form.get('client_secret') };
  }
  return null;
}

class TokenStore {
  constructor(clock) {
    this.clock = clock;
    this.clear();
  }

  clear() {
    this.tokens = new Map(); // token -> { expiresAt }
    this.issued = 0;
  }

  // Answers the token endpoint: { status, body } where body is a JSON-able object.
  grant({ authorization, form, clientId, clientSecret, lifetimeSecs }) {
    const creds = clientCredentials(authorization, form);
    if (!creds || !safeEqual(creds.id, clientId) || !safeEqual(creds.secret, clientSecret)) {
      return { status: 401, body: { error: 'unauthorized', error_description: 'Bad credentials' } };
    }
    const grantType = form.get('grant_type');
    if (grantType !== 'client_credentials') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: `Unsupported grant type: ${grantType}` } };
    }
    const token = crypto.randomBytes(24).toString('hex');
    this.tokens.set(token, { expiresAt: this.clock.now() + lifetimeSecs * 1000 });
    this.issued += 1;
    return {
      status: 200,
      body: {
        access_token: token,
        token_type: 'bearer',
        expires_in: Math.max(lifetimeSecs - 1, 0),
        scope: 'p-service-registry.read p-service-registry.write',
        jti: crypto.randomBytes(16).toString('hex'),
      },
    };
  }

  // Returns null when the Authorization header carries a valid token, else the 401 body.
  check(authorization) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization || '');
    if (!m) {
      return { error: 'unauthorized', error_description: 'Full authentication is required to access this resource' };
    }
    const entry = this.tokens.get(m[1]);
    if (!entry) return { error: 'invalid_token', error_description: 'Invalid access token' };
    if (this.clock.now() >= entry.expiresAt) {
      return { error: 'invalid_token', error_description: 'Access token expired' };
    }
    return null;
  }

  expireAll() {
    const now = this.clock.now();
    for (const entry of this.tokens.values()) entry.expiresAt = Math.min(entry.expiresAt, now);
  }

  allTokens() {
    return [...this.tokens.keys()];
  }

  activeCount() {
    const now = this.clock.now();
    let n = 0;
    for (const entry of this.tokens.values()) if (now < entry.expiresAt) n += 1;
    return n;
  }
}

module.exports = { TokenStore };
