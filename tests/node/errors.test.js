'use strict';
// Errors and hostile input: wrong types, bad values, huge keys, closed
// handles, re-entry from iteration and transaction callbacks, concurrent
// close, a second process, forged handles. Each must give a clear error and
// never crash the process.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { cellardb, tmpdb, tmpdir, pkgDir } = require('./helpers');

const { open, CellarError } = cellardb;

const notKeys = [undefined, null, 1, 1.5, true, {}, [], () => {}, Symbol('s'), 10n];

test('bad key types throw TypeError from every method', () => {
  const db = open(tmpdb());
  const tx = db.begin();
  for (const bad of notKeys) {
    for (const call of [
      () => db.get(bad), () => db.has(bad), () => db.put(bad, 'v'), () => db.delete(bad),
      () => db.incr(bad), () => db.decr(bad), () => db.cas(bad, null, 'v'),
      () => db.expire(bad, 1), () => db.ttl(bad), () => db.persist(bad),
      () => db.getMany([bad]), () => db.putMany([[bad, 'v']]),
      () => tx.get(bad), () => tx.has(bad), () => tx.put(bad, 'v'), () => tx.delete(bad),
    ]) {
      assert.throws(call, (err) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_TYPE',
        `${call} with ${String(bad)}`);
    }
  }
  tx.abort();
  db.close();
});

test('bad value types throw TypeError', () => {
  const db = open(tmpdb());
  for (const bad of [undefined, null, 1, true, {}, [], () => {}, 10n]) {
    assert.throws(() => db.put('k', bad), TypeError);
    assert.throws(() => db.putMany([['k', bad]]), TypeError);
  }
  db.close();
  const u = open(tmpdb(), { encoding: 'utf8' });
  assert.throws(() => u.put('k', { a: 1 }), TypeError);
  u.close();
});

test('async twins reject bad arguments with TypeError instead of throwing', async () => {
  const db = open(tmpdb());
  await assert.rejects(db.getAsync(1), TypeError);
  await assert.rejects(db.putAsync('k', 1), TypeError);
  await assert.rejects(db.putAsync('k', 'v', { ttl: 'x' }), TypeError);
  await assert.rejects(db.deleteAsync(null), TypeError);
  await assert.rejects(db.getManyAsync('k'), TypeError);
  await assert.rejects(db.putManyAsync(5), TypeError);
  await assert.rejects(db.backupAsync(5), TypeError);
  await assert.rejects(db.transactionAsync('not a function'), TypeError);
  db.close();
});

test('bad open arguments', () => {
  const file = tmpdb();
  for (const bad of [undefined, null, 5, {}, ['x']]) {
    assert.throws(() => open(bad), TypeError);
  }
  assert.throws(() => open(''), TypeError);
  assert.throws(() => open('a\0b'), TypeError);
  assert.throws(() => open(file, 'c'), TypeError);
  assert.throws(() => open(file, { flag: 'x' }), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => open(file, { flag: 'rw' }), TypeError);
  assert.throws(() => open(file, { sync: 'always' }), TypeError);
  assert.throws(() => open(file, { encoding: 'latin1' }), TypeError);
  assert.throws(() => open(file, { encoding: 'toString' }), TypeError);
  assert.throws(() => open(file, { keyEncoding: 'json' }), TypeError);
  assert.throws(() => open(file, { cacheSize: -1 }), RangeError);
  assert.throws(() => open(file, { cacheSize: '1MB' }), TypeError);
  assert.throws(() => open(file, { pageSize: 1.5 }), RangeError);
  assert.throws(() => open(file, { lockTimeout: -5 }), RangeError);
  assert.throws(() => open(file, { clock: [1] }), TypeError);
  // A page size the core refuses is its EINVAL.
  assert.throws(() => open(file, { pageSize: 5000 }), { code: 'CELLAR_EINVAL' });
  assert.equal(fs.existsSync(file) && fs.statSync(file).size > 0, false);
});

test('errors from the core are CellarErrors with code, errno and a message', () => {
  const dir = tmpdir();
  let err;
  try {
    open(path.join(dir, 'missing', 'db'), { flag: 'w' });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof CellarError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'CellarError');
  assert.equal(err.code, 'CELLAR_ENOENT');
  assert.equal(typeof err.errno, 'number');
  assert.ok(err.message.length > 0);
  assert.match(err.stack, /CellarError/);
});

test('a file that is not a database', () => {
  const file = tmpdb();
  fs.writeFileSync(file, Buffer.alloc(20000, 'garbage! '));
  assert.throws(() => open(file), (e) => e instanceof CellarError &&
    ['CELLAR_ENOTDB', 'CELLAR_ECORRUPT'].includes(e.code));
});

test('every method throws CELLAR_ECLOSED after close', async () => {
  const db = open(tmpdb());
  db.put('a', 'b');
  db.close();
  const closed = { name: 'CellarError', code: 'CELLAR_ECLOSED' };
  for (const call of [
    () => db.get('a'), () => db.has('a'), () => db.put('a', 'b'), () => db.delete('a'),
    () => db.incr('n'), () => db.decr('n'), () => db.cas('a', null, 'x'), () => db.expire('a', 1),
    () => db.ttl('a'), () => db.persist('a'), () => db.getMany(['a']), () => db.putMany([['a', 'b']]),
    () => db.stats(), () => db.sync(), () => db.checkpoint(), () => db.compact(),
    () => db.backup(tmpdb()), () => db.check(), () => db.size, () => [...db], () => [...db.keys()],
    () => db.begin(), () => db.transaction(() => 1),
  ]) {
    assert.throws(call, closed, String(call));
  }
  for (const call of [
    () => db.getAsync('a'), () => db.putAsync('a', 'b'), () => db.deleteAsync('a'),
    () => db.hasAsync('a'), () => db.getManyAsync(['a']), () => db.putManyAsync([['a', 'b']]),
    () => db.compactAsync(), () => db.backupAsync(tmpdb()), () => db.checkAsync(),
    () => db.syncAsync(), () => db.transactionAsync(async () => 1),
  ]) {
    await assert.rejects(call(), closed, String(call));
  }
});

test('a transaction and an iterator die with their db', () => {
  const db = open(tmpdb());
  for (let i = 0; i < 3000; i++) db.put(`k${i}`, 'v');
  const tx = db.begin();
  tx.put('x', 'y');
  const it = db.keys();
  it.next();
  db.close();
  assert.throws(() => tx.get('x'), { code: 'CELLAR_ECLOSED' });
  assert.throws(() => tx.put('x', 'z'), { code: 'CELLAR_ECLOSED' });
  assert.throws(() => tx.commit(), { code: 'CELLAR_ECLOSED' });
  tx.abort();
  // The first batch was already decoded; the next native call fails.
  assert.throws(() => { for (;;) { if (it.next().done) break; } }, { code: 'CELLAR_ECLOSED' });
});

test('a finished transaction refuses further use', () => {
  const db = open(tmpdb());
  const tx = db.begin();
  tx.put('a', 'b');
  tx.commit();
  assert.equal(tx.isOpen, false);
  assert.throws(() => tx.put('a', 'c'), { code: 'CELLAR_ECLOSED' });
  assert.throws(() => tx.commit(), { code: 'CELLAR_ECLOSED' });
  tx.abort(); // no-op
  const t2 = db.begin();
  t2.abort();
  assert.throws(() => t2.get('a'), { code: 'CELLAR_ECLOSED' });
  db.close();
});

test('re-entry: the db is usable from inside iteration and transaction callbacks', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  for (let i = 0; i < 50; i++) db.put(`k${i}`, String(i));
  // Iterating inside iterating, transactions inside iterating.
  let inner = 0;
  for (const k of db.keys()) {
    for (const k2 of db.keys()) { if (k2 === k) inner++; }
    db.transaction((tx) => { tx.put(`${k}-copy`, db.get(k)); });
  }
  assert.equal(inner, 50);
  assert.equal(db.size, 100);
  // Plain calls and nested transactions inside a transaction callback.
  db.transaction((tx) => {
    tx.put('outer', '1');
    db.put('direct', '1');
    db.transaction((tx2) => { tx2.put('nested', '1'); });
    assert.equal([...db.keys()].includes('outer'), false, 'uncommitted writes are private');
  });
  assert.deepEqual(db.getMany(['outer', 'direct', 'nested']), ['1', '1', '1']);
  // Closing the db from inside an iteration ends the iteration with ECLOSED.
  assert.throws(() => {
    for (const k of db.keys()) { void k; db.close(); }
  }, { code: 'CELLAR_ECLOSED' });
});

test('closing from inside a transaction callback', () => {
  const db = open(tmpdb());
  assert.throws(() => db.transaction((tx) => { tx.put('a', 'b'); db.close(); }),
    { code: 'CELLAR_ECLOSED' });
  const db2 = open(db.path);
  assert.equal(db2.get('a'), undefined);
  db2.close();
});

test('a sync transaction function returning a promise is refused', () => {
  const db = open(tmpdb());
  assert.throws(() => db.transaction(async (tx) => { tx.put('a', 'b'); }), TypeError);
  assert.equal(db.get('a'), undefined);
  assert.throws(() => db.transaction('nope'), TypeError);
  assert.throws(() => db.transaction(() => {}, { retries: -1 }), RangeError);
  db.close();
});

test('close while async calls are in flight: they finish, then the db closes', async () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  for (let i = 0; i < 100; i++) db.put(`k${i}`, `v${i}`);
  const pending = [];
  for (let i = 0; i < 100; i++) pending.push(db.getAsync(`k${i}`));
  pending.push(db.putAsync('late', 'x'));
  pending.push(db.compactAsync());
  db.close();
  assert.equal(db.isOpen, false);
  assert.throws(() => db.get('k1'), { code: 'CELLAR_ECLOSED' });
  const results = await Promise.all(pending);
  for (let i = 0; i < 100; i++) assert.equal(results[i], `v${i}`);
  const again = open(db.path, { encoding: 'utf8' });
  assert.equal(again.get('late'), 'x');
  again.close();
});

test('forged handles are refused without a crash', () => {
  const native = require(path.join(pkgDir, 'build', 'Release', 'cellardb.node'));
  const db = open(tmpdb());
  const tx = db.begin();
  assert.throws(() => native.get({}, 'k'), TypeError);
  assert.throws(() => native.get(null, 'k'), TypeError);
  assert.throws(() => native.txnGet({}, 'k'), TypeError);
  assert.throws(() => native.iterNext(123, 3), TypeError);
  assert.throws(() => native.get('k', 'k'), TypeError);
  // A scratch length beyond the buffer.
  tx.abort();
  db.close();
});

test('a second process gets CELLAR_ELOCKED at once, and can wait with lockTimeout', () => {
  const file = tmpdb();
  const db = open(file);
  db.put('a', 'b');
  const script = `
    const { open } = require(${JSON.stringify(pkgDir)});
    try { open(${JSON.stringify(file)}, { lockTimeout: Number(process.argv[1]) }); console.log('opened'); }
    catch (e) { console.log(e.code); }`;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['-e', script, '0'], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), 'CELLAR_ELOCKED', r.stderr);
  const r2 = spawnSync(process.execPath, ['-e', script, '300'], { encoding: 'utf8' });
  assert.equal(r2.stdout.trim(), 'CELLAR_ELOCKED', r2.stderr);
  assert.ok(Date.now() - t0 >= 250, 'lockTimeout waited');
  db.close();
  const r3 = spawnSync(process.execPath, ['-e', script, '0'], { encoding: 'utf8' });
  assert.equal(r3.stdout.trim(), 'opened', r3.stderr);
});

test('huge and hostile sizes', () => {
  const db = open(tmpdb());
  assert.throws(() => db.put(Buffer.alloc(65537), 'v'), { code: 'CELLAR_ETOOBIG' });
  assert.throws(() => db.get(Buffer.alloc(65537)), { code: 'CELLAR_ETOOBIG' });
  assert.throws(() => db.has(Buffer.alloc(100000)), { code: 'CELLAR_ETOOBIG' });
  assert.throws(() => db.getMany([Buffer.alloc(65537)]), { code: 'CELLAR_ETOOBIG' });
  assert.throws(() => db.expire('k', Infinity), RangeError);
  assert.throws(() => db.expire('k', NaN), RangeError);
  db.close();
});

test('user code run while encoding a value may use the db (scratch buffers stay intact)', () => {
  const db = open(tmpdb(), { encoding: 'json' });
  db.put('other', { x: 1 });
  const sneaky = { toJSON() { db.get('other'); db.put('side', 2); return { ok: true }; } };
  db.put('target', sneaky);
  assert.deepEqual(db.get('target'), { ok: true });
  assert.equal(db.get('side'), 2);
  db.transaction((tx) => { tx.put('in-tx', sneaky); });
  assert.deepEqual(db.get('in-tx'), { ok: true });
  const opts = { get ttl() { db.get('other'); return 100000; } };
  db.put('with-ttl', 'v', opts);
  assert.equal(db.get('with-ttl'), 'v');
  db.close();
});
