'use strict';
// A db, transaction or iterator the program forgot is cleaned up by the
// addon's finalizers when collected: the file is closed (its lock released)
// without close().
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { tmpdb, pkgDir } = require('./helpers');

function runNode(code, args = []) {
  return spawnSync(process.execPath, ['--expose-gc', '-e', code, ...args], { encoding: 'utf8' });
}

test('a forgotten db is closed by its finalizer (lock released)', () => {
  const file = tmpdb();
  const code = `
    const { spawnSync } = require('node:child_process');
    const { open } = require(${JSON.stringify(pkgDir)});
    const file = ${JSON.stringify(file)};
    const tryOther = () => spawnSync(process.execPath, ['-e', \`
      const { open } = require(\${JSON.stringify(${JSON.stringify(pkgDir)})});
      try { open(\${JSON.stringify(file)}).close(); console.log('ok'); } catch (e) { console.log(e.code); }\`],
      { encoding: 'utf8' }).stdout.trim();
    (function () {
      const db = open(file);
      db.put('a', 'b');
      const tx = db.begin(); tx.put('x', 'y');       // forgotten too
      const it = db.keys(); it.next();               // and an open iterator
    })();
    const before = tryOther();
    (async () => {
      for (let i = 0; i < 20; i++) { global.gc(); await new Promise((r) => setImmediate(r)); }
      console.log(JSON.stringify({ before, after: tryOther() }));
    })();`;
  const r = runNode(code);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(out.before, 'CELLAR_ELOCKED');
  assert.equal(out.after, 'ok');
});

test('many forgotten handles, transactions and iterators do not leak or crash', () => {
  const file = tmpdb();
  const code = `
    const { open } = require(${JSON.stringify(pkgDir)});
    for (let round = 0; round < 200; round++) {
      const db = open(${JSON.stringify(file)});
      db.put('k' + round, 'v');
      db.begin().put('t', 'x');
      const it = db.entries(); it.next();
      if (round % 50 === 0) global.gc();
    }
    global.gc();
    setImmediate(() => {
      global.gc();
      const db = open(${JSON.stringify(file)});
      console.log(db.size);
      db.close();
    });`;
  const r = runNode(code);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '200');
});

test('process exit with open handles and pending async work is clean', () => {
  const file = tmpdb();
  const code = `
    const { open } = require(${JSON.stringify(pkgDir)});
    const db = open(${JSON.stringify(file)});
    for (let i = 0; i < 100; i++) db.putAsync('k' + i, 'v');
    db.begin().put('a', 'b');
    setImmediate(() => process.exit(0));`;
  const r = runNode(code);
  assert.equal(r.status, 0, r.stderr);
});
