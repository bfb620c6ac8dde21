'use strict';
// index.d.ts covers the API: `tsc --noEmit` on a typed usage file (which also
// checks that wrong uses are rejected, with @ts-expect-error). typescript is
// installed by packaging/deps/node.sh; without it the test is skipped.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function findTsc() {
  const local = [
    path.join(__dirname, 'node_modules', 'typescript', 'bin', 'tsc'),
    path.join(__dirname, '..', '..', 'bindings', 'node', 'node_modules', 'typescript', 'bin', 'tsc'),
  ];
  for (const p of local) if (fs.existsSync(p)) return [process.execPath, [p]];
  const which = spawnSync('sh', ['-c', 'command -v tsc'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return [which.stdout.trim(), []];
  return null;
}

const tsc = findTsc();

test('index.d.ts type-checks the usage file (tsc --noEmit)', { skip: tsc ? false :
  'typescript not installed (packaging/deps/node.sh installs it)' }, () => {
  const [cmd, pre] = tsc;
  const r = spawnSync(cmd, [...pre, '--noEmit', '-p', path.join(__dirname, 'types', 'tsconfig.json')],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
});
