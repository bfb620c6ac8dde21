'use strict';
// The async twins: results, errors, and running on the thread pool alongside
// synchronous calls on the same handle.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { cellardb, tmpdb, tmpdir } = require('./helpers');

const { open, CellarError } = cellardb;

test('every async twin resolves like its sync form', async () => {
  const dir = tmpdir();
  const db = open(path.join(dir, 'db'), { encoding: 'utf8' });
  assert.equal(await db.putAsync('a', '1'), undefined);
  assert.equal(await db.getAsync('a'), '1');
  assert.equal(await db.getAsync('zz'), undefined);
  assert.equal(await db.hasAsync('a'), true);
  assert.equal(await db.hasAsync('zz'), false);
  await db.putManyAsync([['b', '2'], ['c', '3']]);
  assert.deepEqual(await db.getManyAsync(['a', 'b', 'x', 'c']), ['1', '2', undefined, '3']);
  assert.equal(await db.deleteAsync('a'), true);
  assert.equal(await db.deleteAsync('a'), false);
  await db.putAsync('t', 'v', { ttl: 100000 });
  assert.ok(db.ttl('t') > 0);
  await db.syncAsync();
  await db.checkpointAsync();
  await db.compactAsync();
  assert.deepEqual(await db.checkAsync(), { ok: true, count: 0, problems: [] });
  await db.backupAsync(path.join(dir, 'copy'));
  db.close();
  const copy = open(path.join(dir, 'copy'), { encoding: 'utf8' });
  assert.deepEqual(copy.getMany(['b', 'c']), ['2', '3']);
  copy.close();
});

test('async results are Buffers of their own (buffer encoding) and decode (json)', async () => {
  const db = open(tmpdb());
  await db.putAsync(Buffer.from([1, 2]), Buffer.from([3, 4]));
  const v = await db.getAsync(Buffer.from([1, 2]));
  assert.deepEqual(v, Buffer.from([3, 4]));
  db.close();
  const j = open(tmpdb(), { encoding: 'json' });
  await j.putAsync('doc', { x: [1, 2, 3] });
  assert.deepEqual(await j.getAsync('doc'), { x: [1, 2, 3] });
  assert.deepEqual(await j.getManyAsync(['doc', 'none']), [{ x: [1, 2, 3] }, undefined]);
  j.close();
});

test('async errors are CellarErrors captured on the worker thread', async () => {
  const db = open(tmpdb());
  await assert.rejects(db.putAsync(Buffer.alloc(70000), 'v'), (err) => {
    assert.ok(err instanceof CellarError);
    assert.equal(err.code, 'CELLAR_ETOOBIG');
    assert.ok(err.message.length > 0);
    return true;
  });
  await assert.rejects(db.backupAsync(path.join(tmpdir(), 'no', 'such', 'dir', 'x')),
    (err) => err instanceof CellarError && err.code !== undefined);
  db.close();
});

test('many async calls run concurrently with sync calls on one handle', async () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  const N = 2000;
  const writes = [];
  for (let i = 0; i < N; i++) {
    writes.push(db.putAsync(`a${i}`, `async-${i}`));
    db.put(`s${i}`, `sync-${i}`);                 // interleaved on the JS thread
    if (i % 100 === 0) assert.equal(db.get(`s${i}`), `sync-${i}`);
  }
  await Promise.all(writes);
  assert.equal(db.size, 2 * N);
  const reads = [];
  for (let i = 0; i < N; i++) reads.push(db.getAsync(`a${i}`));
  let syncSeen = 0;
  for (const [k] of db) { if (k.startsWith('s')) syncSeen++; }   // iterate meanwhile
  const got = await Promise.all(reads);
  assert.equal(syncSeen, N);
  for (let i = 0; i < N; i++) assert.equal(got[i], `async-${i}`);
  db.close();
});

test('async calls do not block the event loop', async () => {
  const db = open(tmpdb());
  const big = Buffer.alloc(512 * 1024, 3);
  const ops = [];
  for (let i = 0; i < 64; i++) ops.push(db.putAsync(`big${i}`, big));
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 1);
  await Promise.all(ops);
  await db.compactAsync();
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(timer);
  assert.ok(ticks > 0, 'timers ran while the pool worked');
  assert.equal((await db.getAsync('big63')).length, big.length);
  db.close();
});

test('the input buffer of an async put may be reused at once', async () => {
  const db = open(tmpdb());
  const buf = Buffer.from('original');
  const p = db.putAsync('k', buf);
  buf.fill(0);
  await p;
  assert.equal(db.get('k').toString(), 'original');
  db.close();
});

test('a db dropped while async calls run is kept alive until they finish', async () => {
  let db = open(tmpdb(), { encoding: 'utf8' });
  const file = db.path;
  const p = db.putAsync('k', 'v');
  db = null;
  if (global.gc) global.gc();
  await p;
  const again = open(file, { encoding: 'utf8' });
  assert.equal(again.get('k'), 'v');
  again.close();
});
