'use strict';
// registry.bash, the helper shell-level suites source to start, drive and stop the double.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { SUPPORT_DIR } = require('./helpers');

function bash(script, timeoutMs = 20000) {
  return new Promise((resolve) => {
    execFile('bash', ['-c', `set -euo pipefail\nsource "${SUPPORT_DIR}/registry.bash"\n${script}`],
      { timeout: timeoutMs }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

describe('registry.bash', () => {
  it('starts the double, exports its URLs, drives the admin API and stops it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-double-sh-'));
    try {
      const { code, stdout, stderr } = await bash(`
        registry_start "${dir}" --host 127.0.0.31 --auth off
        echo "eureka=$REGISTRY_EUREKA"
        echo "token=$REGISTRY_TOKEN_URL"
        echo "https=[$REGISTRY_HTTPS]"
        pid=$REGISTRY_PID
        registry_admin POST /config '{"cache":"on"}' | jq -r '"cache=\\(.config.cache)"'
        curl -sS -o /dev/null -w 'apps=%{http_code}\\n' "$REGISTRY_EUREKA/apps"
        registry_stop
        if kill -0 "$pid" 2>/dev/null; then echo still-running; else echo stopped; fi
      `);
      assert.equal(code, 0, stderr);
      const lines = stdout.trim().split('\n');
      assert.match(lines[0], /^eureka=http:\/\/127\.0\.0\.31:\d+\/eureka$/);
      assert.match(lines[1], /^token=http:\/\/127\.0\.0\.31:\d+\/oauth\/token$/);
      assert.deepEqual(lines.slice(2), ['https=[]', 'cache=30', 'apps=200', 'stopped']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with the double\'s own message when it cannot start', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-double-sh-'));
    try {
      const { code, stderr } = await bash(`registry_start "${dir}" --cache never`);
      assert.notEqual(code, 0);
      assert.match(stderr, /registry double exited before it was ready: registry double: --cache: expected off, on/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
