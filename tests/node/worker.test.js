'use strict';
// worker_threads: each worker loads the addon in its own environment and
// opens the same file through its own handle; the core shares one open
// database between them (one process, one registry entry).
const test = require('node:test');
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const { cellardb, tmpdb, pkgDir } = require('./helpers');

const workerCode = `
const { parentPort, workerData } = require('node:worker_threads');
const { open } = require(workerData.pkgDir);
const db = open(workerData.file, { encoding: 'utf8' });
(async () => {
  for (let i = 0; i < workerData.n; i++) {
    if (i % 2) db.put(\`w\${workerData.id}-\${i}\`, String(i));
    else await db.putAsync(\`w\${workerData.id}-\${i}\`, String(i));
    db.incr('counter');
  }
  const fromMain = db.get('from-main');
  let seen = 0;
  for (const k of db.keys()) if (k.startsWith('w')) seen++;
  db.transaction((tx) => { tx.put(\`done-\${workerData.id}\`, 'yes'); });
  if (workerData.close) db.close();   // else: left to the finalizer at worker exit
  parentPort.postMessage({ fromMain, seen });
})().catch((e) => parentPort.postMessage({ error: String(e.stack || e) }));
`;

function runWorker(data) {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerCode, { eval: true, workerData: { pkgDir, ...data } });
    let msg;
    w.on('message', (m) => { msg = m; });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve(msg) : reject(new Error(`worker exit ${code}`))));
  });
}

test('workers share one file through separate handles', async () => {
  const file = tmpdb();
  const db = cellardb.open(file, { encoding: 'utf8' });
  db.put('from-main', 'hello');
  const N = 400;
  const results = await Promise.all([
    runWorker({ file, id: 1, n: N, close: true }),
    runWorker({ file, id: 2, n: N, close: true }),
    runWorker({ file, id: 3, n: N, close: false }),
  ]);
  for (const r of results) {
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.fromMain, 'hello');
    assert.ok(r.seen >= N, 'a worker sees at least its own keys');
  }
  assert.equal(db.get('counter'), String(3 * N));
  for (const id of [1, 2, 3]) {
    assert.equal(db.get(`done-${id}`), 'yes');
    assert.equal(db.get(`w${id}-${N - 1}`), String(N - 1));
  }
  assert.equal(db.size, 3 * N + 2 + 3);
  db.close();
  // Every handle is gone: the file opens again, from another process too.
  const again = cellardb.open(file, { encoding: 'utf8' });
  assert.equal(again.get('counter'), String(3 * N));
  again.close();
});

test('a worker terminated mid-work does not take the process down', async () => {
  const file = tmpdb();
  const w = new Worker(`
    const { open } = require(${JSON.stringify(pkgDir)});
    const db = open(${JSON.stringify(file)});
    let i = 0;
    (async () => { for (;;) { await db.putAsync('k' + (i++ % 100), 'v'); db.put('s', 'x'); } })();
  `, { eval: true });
  await new Promise((r) => setTimeout(r, 300));
  await w.terminate();
  const db = cellardb.open(file);
  assert.ok(db.size >= 1);
  db.close();
});
