// The ES module entry: `import { open } from 'cellardb'` gives the same
// objects as require().
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import cellardb, { open, CellarError, Database, codes, version } from '../../bindings/node/index.mjs';

const require = createRequire(import.meta.url);
const pkgDir = fileURLToPath(new URL('../../bindings/node/', import.meta.url));

test('named and default imports match the CommonJS entry', () => {
  const cjs = require(pkgDir);
  assert.equal(open, cjs.open);
  assert.equal(CellarError, cjs.CellarError);
  assert.equal(Database, cjs.Database);
  assert.equal(cellardb, cjs);
  assert.equal(codes.CELLAR_ENOTFOUND, -1);
  assert.equal(typeof version, 'string');
});

test('open through the ES module entry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cellardb-esm-'));
  try {
    const db = open(join(dir, 'db'), { encoding: 'utf8' });
    db.put('k', 'v');
    assert.equal(db.get('k'), 'v');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
