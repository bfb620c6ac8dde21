'use strict';
// Hostile use of every method: wrong types, keys and values over the limits,
// bad open options, closed databases, transactions and iterators, re-entry
// into the db from inside an iteration and a transaction (sync and async),
// and close() racing async work, transactions and worker_threads. Each gives
// a clear error and leaves the database as it was; none crashes or hangs.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');
const { cellardb, tmpdb, tmpdir, pkgDir } = require('./helpers');

const { open, CellarError } = cellardb;

const BIG_KEY = Buffer.alloc(65537, 'k');
const closedErr = { name: 'CellarError', code: 'CELLAR_ECLOSED' };
const tooBig = { name: 'CellarError', code: 'CELLAR_ETOOBIG' };

function snapshot(db) {
  return new Map(db.entries());
}

function fresh(encoding = 'utf8') {
  const db = open(tmpdb(), { encoding });
  db.putMany([['a', '1'], ['b', '2'], ['n', '5']]);
  db.put('t', 'x', { ttl: 3600000 });
  return db;
}

// Every key-taking method, sync and async.
function keyCalls(db, key) {
  return {
    sync: [
      () => db.get(key), () => db.has(key), () => db.put(key, 'v'), () => db.put(key, 'v', { ttl: 5 }),
      () => db.delete(key), () => db.incr(key), () => db.decr(key, 2), () => db.cas(key, null, 'v'),
      () => db.expire(key, 5), () => db.ttl(key), () => db.persist(key), () => db.getMany(['a', key]),
      () => db.putMany([['zz', '1'], [key, 'v']]),
    ],
    async: [
      () => db.getAsync(key), () => db.hasAsync(key), () => db.putAsync(key, 'v'),
      () => db.deleteAsync(key), () => db.getManyAsync(['a', key]),
      () => db.putManyAsync([['zz', '1'], [key, 'v']]),
    ],
  };
}

function txCalls(tx, key) {
  return [() => tx.get(key), () => tx.has(key), () => tx.put(key, 'v'), () => tx.delete(key)];
}

test('a key of a wrong type is refused by every method, and nothing changes', async () => {
  const db = fresh();
  const before = snapshot(db);
  for (const bad of [undefined, null, 1, 1.5, NaN, true, {}, [], () => {}, Symbol('s'), 10n,
    new Map(), new Date(0), /re/]) {
    const calls = keyCalls(db, bad);
    for (const call of calls.sync) {
      assert.throws(call, (e) => e instanceof TypeError && /key/.test(e.message), `${call} ${String(bad)}`);
    }
    for (const call of calls.async) {
      await assert.rejects(call(), TypeError, `${call} ${String(bad)}`);
    }
    const tx = db.begin();
    for (const call of txCalls(tx, bad)) assert.throws(call, TypeError);
    assert.equal(tx.isOpen, true, 'a refused argument does not end the transaction');
    await assert.rejects(tx.getAsync(bad), TypeError);
    tx.abort();
  }
  assert.deepEqual(snapshot(db), before);
  db.close();
});

test('values, options and other arguments of wrong types are refused', async () => {
  const db = fresh();
  const before = snapshot(db);
  for (const [err, call] of [
    [TypeError, () => db.put('a', 1)], [TypeError, () => db.put('a', {})], [TypeError, () => db.put('a')],
    [TypeError, () => db.put('a', 'v', 'ttl')], [TypeError, () => db.put('a', 'v', { ttl: '5' })],
    [RangeError, () => db.put('a', 'v', { ttl: -1 })], [RangeError, () => db.put('a', 'v', { ttl: Infinity })],
    [TypeError, () => db.cas('a', 1, 'x')], [TypeError, () => db.cas('a', '1', {})],
    [TypeError, () => db.incr('n', '1')], [RangeError, () => db.incr('n', 1.5)],
    [RangeError, () => db.incr('n', 2 ** 60)], [RangeError, () => db.incr('n', 2n ** 70n)],
    [TypeError, () => db.expire('a')], [TypeError, () => db.expire('a', '5')], [RangeError, () => db.expire('a', NaN)],
    [TypeError, () => db.getMany('ab')], [TypeError, () => db.getMany()],
    [TypeError, () => db.putMany(5)], [TypeError, () => db.putMany([['a']])], [TypeError, () => db.putMany(['ab'])],
    [TypeError, () => db.putMany([['a', '1'], ['b', 2]])],
    [TypeError, () => db.begin('readonly')], [TypeError, () => db.transaction()],
    [TypeError, () => db.transaction(() => 1, 'x')], [TypeError, () => db.transaction(() => 1, { retries: '1' })],
    [RangeError, () => db.transaction(() => 1, { retries: 1.5 })],
    [TypeError, () => db.backup(5)], [TypeError, () => db.backup('')], [TypeError, () => db.backup('a\0b')],
    [TypeError, () => db.dump(null)], [TypeError, () => db.load({})], [TypeError, () => db.forEach(5)],
  ]) {
    assert.throws(call, err, String(call));
  }
  for (const call of [
    () => db.putAsync('a', 1), () => db.putAsync('a', 'v', { ttl: 'x' }), () => db.getManyAsync('ab'),
    () => db.putManyAsync(5), () => db.backupAsync(null), () => db.transactionAsync(5),
    () => db.transactionAsync(async () => 1, { retries: -1 }),
  ]) {
    await assert.rejects(call(), (e) => e instanceof TypeError || e instanceof RangeError, String(call));
  }
  assert.deepEqual(snapshot(db), before);
  db.close();
});

test('a key over 64 KiB gives CELLAR_ETOOBIG everywhere, and nothing changes', async () => {
  const db = fresh();
  const before = snapshot(db);
  const strKey = '€'.repeat(21846); // 65538 bytes of UTF-8
  for (const key of [BIG_KEY, strKey, new Uint8Array(100000)]) {
    const calls = keyCalls(db, key);
    for (const call of calls.sync) assert.throws(call, tooBig, String(call));
    for (const call of calls.async) await assert.rejects(call(), tooBig, String(call));
    const tx = db.begin();
    for (const call of txCalls(tx, key)) assert.throws(call, tooBig);
    await assert.rejects(tx.getAsync(key), tooBig);
    tx.put('fine', '1'); // the transaction goes on
    tx.commit();
    assert.equal(db.delete('fine'), true);
  }
  assert.throws(() => db.transaction((tx) => { tx.put('in', '1'); tx.put(BIG_KEY, 'v'); }), tooBig);
  assert.deepEqual(snapshot(db), before);
  assert.equal(db.check().ok, true);
  db.close();
});

test('a value over 1 GiB gives CELLAR_ETOOBIG without being copied', async () => {
  const db = open(tmpdb());
  db.put('a', Buffer.from('1'));
  // Not touched, so never really allocated: the binding must not copy it.
  const big = Buffer.allocUnsafeSlow(2 ** 30 + 1);
  assert.throws(() => db.put('a', big), tooBig);
  assert.throws(() => db.putMany([['x', Buffer.from('1')], ['a', big]]), tooBig);
  assert.throws(() => db.cas('a', Buffer.from('1'), big), tooBig);
  assert.throws(() => db.transaction((tx) => tx.put('a', big)), tooBig);
  await assert.rejects(db.putAsync('a', big), tooBig);
  await assert.rejects(db.putManyAsync([['a', big]]), tooBig);
  assert.ok(process.resourceUsage().maxRSS * 1024 < 2 ** 30, 'the value was copied');
  assert.deepEqual(db.get('a'), Buffer.from('1'));
  assert.equal(db.get('x'), undefined);
  db.close();
});

test('bad open options are refused with a clear error, creating no file', () => {
  const dir = tmpdir();
  const file = `${dir}/db`;
  for (const [opts, err] of [
    [{ flag: 'x' }, TypeError], [{ flag: 'cw' }, TypeError], [{ flag: 'C' }, TypeError], [{ flag: null }, TypeError],
    [{ flag: 1 }, TypeError], [{ sync: 'FULL' }, TypeError], [{ sync: 1 }, TypeError], [{ sync: '' }, TypeError],
    [{ cacheSize: -1 }, RangeError], [{ cacheSize: 2 ** 60 }, RangeError], [{ cacheSize: NaN }, RangeError],
    [{ cacheSize: Infinity }, RangeError], [{ cacheSize: '64M' }, TypeError], [{ cacheSize: 1n }, TypeError],
    [{ pageSize: -4096 }, RangeError], [{ pageSize: 4096.5 }, RangeError], [{ pageSize: 2 ** 20 }, RangeError],
    [{ mode: 0 }, RangeError], [{ mode: -1 }, RangeError], [{ mode: 0o10000 }, RangeError], [{ mode: '644' }, TypeError],
    [{ lockTimeout: -1 }, RangeError], [{ lockTimeout: 2 ** 31 }, RangeError],
    [{ encoding: 'JSON' }, TypeError], [{ encoding: null }, TypeError], [{ keyEncoding: 'json' }, TypeError],
    [{ clock: [0] }, TypeError], [{ clock: new Float64Array(0) }, TypeError],
    [{ readOnly: true }, TypeError], [{ cache_size: 1 }, TypeError], [{ flags: 'r' }, TypeError],
  ]) {
    assert.throws(() => open(file, opts), (e) => e instanceof err && typeof e.code === 'string',
      JSON.stringify(opts, (k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
  }
  for (const args of [[], [null], [5], [file, 'c'], [file, 5], [''], ['a\0b'], [{}]]) {
    assert.throws(() => open(...args), TypeError);
  }
  assert.equal(fs.existsSync(file), false);
  // values only the core can judge
  assert.throws(() => open(file, { pageSize: 1000 }), { code: 'CELLAR_EINVAL' });
  assert.throws(() => open(dir), { code: 'CELLAR_EINVAL' });
  // an absurd cache size is a budget, not an allocation
  const db = open(file, { cacheSize: Number.MAX_SAFE_INTEGER });
  db.put('a', 'b');
  db.close();
});

test('every method of a closed db throws or rejects CELLAR_ECLOSED', async () => {
  const db = fresh();
  db.close();
  db.close(); // harmless
  assert.equal(db.isOpen, false);
  for (const call of [
    () => db.get('a'), () => db.has('a'), () => db.put('a', 'b'), () => db.delete('a'), () => db.incr('n'),
    () => db.decr('n'), () => db.cas('a', null, 'x'), () => db.expire('a', 1), () => db.ttl('a'),
    () => db.persist('a'), () => db.getMany(['a']), () => db.putMany([['a', 'b']]), () => db.stats(),
    () => db.sync(), () => db.checkpoint(), () => db.compact(), () => db.backup(tmpdb()), () => db.check(),
    () => db.dump(tmpdb()), () => db.load(tmpdb()), () => db.size, () => [...db], () => [...db.keys()],
    () => [...db.values()], () => [...db.entries()], () => db.forEach(() => {}), () => db.begin(),
    () => db.transaction(() => 1),
  ]) {
    assert.throws(call, closedErr, String(call));
  }
  for (const call of [
    () => db.getAsync('a'), () => db.putAsync('a', 'b'), () => db.deleteAsync('a'), () => db.hasAsync('a'),
    () => db.getManyAsync(['a']), () => db.putManyAsync([['a', 'b']]), () => db.syncAsync(),
    () => db.checkpointAsync(), () => db.compactAsync(), () => db.backupAsync(tmpdb()), () => db.checkAsync(),
    () => db.transactionAsync(async () => 1),
  ]) {
    await assert.rejects(call(), closedErr, String(call));
  }
});

test('every method of a finished or dead transaction throws CELLAR_ECLOSED', async () => {
  for (const how of ['committed', 'aborted', 'db closed']) {
    const db = fresh();
    const tx = db.begin();
    tx.put('c', '1');
    if (how === 'committed') tx.commit();
    else if (how === 'aborted') tx.abort();
    else db.close();
    for (const call of [() => tx.get('a'), () => tx.has('a'), () => tx.put('a', '2'), () => tx.delete('a'),
      () => tx.commit()]) {
      assert.throws(call, closedErr, `${how}: ${call}`);
    }
    await assert.rejects(tx.getAsync('a'), closedErr);
    await assert.rejects(tx.commitAsync(), closedErr);
    tx.abort(); // harmless
    assert.equal(tx.isOpen, false);
    if (db.isOpen) db.close();
    const again = open(db.path, { encoding: 'utf8' });
    assert.equal(again.get('c'), how === 'committed' ? '1' : undefined);
    again.close();
  }
});

test('exhausted, returned and dead iterators', () => {
  const db = fresh();
  const it = db.keys();
  assert.equal([...it].length, 4);
  for (let i = 0; i < 3; i++) assert.equal(it.next().done, true);
  const it2 = db.entries();
  it2.next();
  assert.equal(it2.return().done, true); // frees the core iterator
  assert.equal(it2.next().done, true);
  // many small batches: a step after close() needs the core and fails
  for (let i = 0; i < 4000; i++) db.put(`k${i}`, 'x'.repeat(200));
  const it3 = db.values();
  it3.next();
  db.close();
  assert.throws(() => { for (;;) if (it3.next().done) break; }, closedErr);
  assert.equal(it3.next().done, true); // the generator ended with the error
});

test('re-entry from inside an iteration: writes, deletes, nested loops, transactions', () => {
  const db = fresh();
  for (let i = 0; i < 300; i++) db.put(`k${i}`, String(i));
  const seen = new Set();
  for (const [k, v] of db) {
    if (!k.startsWith('k')) continue;
    assert.equal(seen.has(k), false, 'a key present until it is yielded comes once');
    seen.add(k);
    assert.equal(db.get(k), v);
    assert.equal(db.delete(k), true);
    db.put(`new-${k}`, 'x');
    for (const k2 of db.keys()) { void k2; break; }
    db.transaction((tx) => { tx.put(`tx-${k}`, tx.get(`new-${k}`)); });
  }
  assert.equal(seen.size, 300);
  assert.equal(db.get('k1'), undefined);
  assert.equal(db.get('tx-k1'), 'x');
  assert.equal(db.size, 4 + 600);
  db.close();
});

test('re-entry from inside an iteration: maintenance, compact and close', () => {
  const db = fresh();
  for (let i = 0; i < 8000; i++) db.put(`k${i}`, 'v'.repeat(100)); // several batches
  let n = 0;
  for (const k of db.keys()) {
    void k;
    if (++n === 2) {
      db.backup(tmpdb());
      assert.equal(db.check().ok, true);
      db.checkpoint();
      db.sync();
    }
  }
  assert.equal(n, 8004);
  n = 0;
  assert.throws(() => {
    for (const k of db.keys()) { void k; if (++n === 2) db.compact(); }
  }, { code: 'CELLAR_EBUSY', message: /compacted/ });
  assert.equal([...db.keys()].length, 8004); // a new iteration is fine
  assert.throws(() => { for (const k of db.keys()) { void k; db.close(); } }, closedErr);
});

test('re-entry from inside a transaction: db calls, nesting, compact, commit and abort inside', async () => {
  const db = fresh();
  const r = db.transaction((tx) => {
    tx.put('tx', '1');
    db.put('direct', '2');
    assert.equal(db.get('tx'), undefined, 'tx writes are private');
    db.transaction((t2) => t2.put('nested', '3'));
    db.compact();
    assert.equal(tx.get('tx'), '1', 'its own write, after the compact');
    tx.put('after', '4');
    return [...db.keys()].length;
  });
  assert.equal(r, 6); // 4 + direct + nested: its own writes are not there yet
  assert.deepEqual(db.getMany(['tx', 'direct', 'nested', 'after']), ['1', '2', '3', '4']);
  assert.equal(db.check().ok, true);
  assert.equal(db.transaction((tx) => { tx.put('c1', '1'); tx.commit(); return 'x'; }), 'x');
  assert.equal(db.transaction((tx) => { tx.put('r1', '1'); tx.abort(); return 'y'; }), 'y');
  assert.throws(() => db.transaction((tx) => { tx.commit(); tx.put('late', '1'); }), closedErr);
  for (const value of [new Error('boom'), 42, undefined, { mine: true }]) {
    assert.throws(() => db.transaction((tx) => { tx.put('e1', '1'); throw value; }), (e) => e === value);
  }
  assert.deepEqual(db.getMany(['c1', 'r1', 'late', 'e1']), ['1', undefined, undefined, undefined]);
  // a read, then the db changes that key: conflict (retried when asked)
  assert.throws(() => db.transaction((tx) => { tx.put('a', `${tx.get('a')}!`); db.put('a', 'changed'); }),
    { code: 'CELLAR_ECONFLICT' });
  let calls = 0;
  db.transaction((tx) => {
    calls++;
    tx.put('a', `${tx.get('a')}!`);
    if (calls === 1) db.put('a', 'again');
  }, { retries: 2 });
  assert.equal(db.get('a'), 'again!');
  // the same from an async transaction
  const out = await db.transactionAsync(async (tx) => {
    tx.put('ta', '1');
    await db.putAsync('tb', '2');
    await db.transactionAsync(async (t2) => { t2.put('tc', '3'); });
    await db.compactAsync();
    assert.equal(await tx.getAsync('ta'), '1');
    return 'ok';
  });
  assert.equal(out, 'ok');
  assert.deepEqual(db.getMany(['ta', 'tb', 'tc']), ['1', '2', '3']);
  assert.equal(await db.transactionAsync(async (tx) => { tx.put('d', '1'); await tx.commitAsync(); return 1; }), 1);
  await assert.rejects(db.transactionAsync(async (tx) => { tx.put('e2', '1'); throw new Error('nope'); }), /nope/);
  assert.equal(db.get('e2'), undefined);
  db.close();
});

test('closing the db inside a transaction, sync and async', async () => {
  const file = tmpdb();
  let db = open(file, { encoding: 'utf8' });
  db.put('kept', '1');
  assert.throws(() => db.transaction((tx) => { tx.put('lost', '1'); db.close(); }), closedErr);
  db = open(file, { encoding: 'utf8' });
  let calls = 0;
  await assert.rejects(db.transactionAsync(async (tx) => {
    calls++;
    tx.put('lost2', '1');
    await new Promise((r) => setTimeout(r, 5));
    db.close();
  }, { retries: 3 }), closedErr);
  assert.equal(calls, 1, 'CELLAR_ECLOSED is not retried');
  db = open(file, { encoding: 'utf8' });
  assert.deepEqual([...db.keys()], ['kept']);
  db.close();
});

test('close() with async work in flight: transactions and iterators die at once, committed data stays', async () => {
  for (let round = 0; round < 5; round++) {
    const file = tmpdb();
    const db = open(file, { encoding: 'utf8' });
    for (let i = 0; i < 3000; i++) db.put(`k${i}`, `v${i}`);
    const it = db.keys();
    it.next();
    const tx = db.begin();
    tx.put('tx', '1');
    const busyTx = db.begin();
    busyTx.put('busy', '1');
    const pending = [];
    for (let i = 0; i < 50; i++) pending.push(db.getAsync(`k${i}`), db.putAsync(`p${round}-${i}`, 'x'));
    pending.push(db.compactAsync(), busyTx.commitAsync(), db.checkAsync());
    pending.push(db.transactionAsync(async (t) => { t.put('ta', '1'); }));
    db.close();
    assert.equal(db.isOpen, false);
    assert.throws(() => db.get('k1'), closedErr);
    assert.throws(() => tx.get('k1'), closedErr, 'a transaction dies with close()');
    assert.throws(() => tx.commit(), closedErr);
    assert.throws(() => { for (;;) if (it.next().done) break; }, closedErr);
    await assert.rejects(db.getAsync('k1'), closedErr);
    const results = await Promise.allSettled(pending);
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof CellarError, String(r.reason));
    }
    for (let i = 0; i < 50; i++) assert.equal(results[2 * i].value, `v${i}`, 'queued before close: runs');
    const again = open(file, { encoding: 'utf8' });
    for (let i = 0; i < 50; i++) {
      if (results[2 * i + 1].status === 'fulfilled') assert.equal(again.get(`p${round}-${i}`), 'x');
    }
    assert.equal(again.get('busy'), '1', 'the async commit queued before close() landed');
    assert.equal(again.get('tx'), undefined);
    assert.equal(again.check().ok, true);
    again.close();
  }
});

// CELLAR_LONG_TESTS (not "0"): the stress rounds below run ten times over.
const LONG_TESTS = !['', '0'].includes(process.env.CELLAR_LONG_TESTS ?? '');

// The JS thread cannot be inside a native call while it ends a transaction,
// so Node's forms of "a call racing the end of its handle" are async work of
// the transaction on the pool, and user code (a value's toJSON) run by a
// call after it looked up its handle and before the native call. Each must
// give CELLAR_EBUSY (refused while the pool uses the transaction) or
// CELLAR_ECLOSED, never another error. Many rounds, as in every binding.
test('a transaction or db ended under async work or by a toJSON: only EBUSY/ECLOSED', async () => {
  const rounds = LONG_TESTS ? 200 : 20;
  const file = tmpdb();
  const anchor = open(file, { encoding: 'json' }); // keeps the file open: other handles are cheap
  anchor.put('k1', 1);
  const bad = [];
  const refused = (what, codes, e) => {
    if (!(e instanceof CellarError) || !codes.includes(e.code)) bad.push(`${what}: ${e && e.stack}`);
  };
  const expect = (what, codes, call) => {
    try {
      call();
      if (!codes.includes('')) bad.push(`${what}: no error`);
    } catch (e) {
      refused(what, codes, e);
    }
  };
  const expectAsync = async (what, codes, promise) => {
    try {
      await promise;
      if (!codes.includes('')) bad.push(`${what}: no error`);
    } catch (e) {
      refused(what, codes, e);
    }
  };
  const ended = (what, tx) => {
    for (const call of [() => tx.get('k1'), () => tx.put('x', 1), () => tx.commit()]) {
      expect(`${what}: ${call}`, ['CELLAR_ECLOSED'], call);
    }
  };
  for (let round = 0; round < rounds; round++) {
    const db = open(file, { encoding: 'json' });
    // abort while an async read of the transaction runs: refused, then done
    const tx = db.begin();
    tx.put(`t${round}`, 1);
    const reading = tx.getAsync('k1');
    expect('abort during getAsync', ['CELLAR_EBUSY'], () => tx.abort());
    expect('get during getAsync', ['CELLAR_EBUSY'], () => tx.get('k1'));
    await expectAsync('getAsync', [''], reading);
    tx.abort();
    ended('aborted', tx);
    // a toJSON that ends the transaction, or closes the db, in the middle of a put
    const tx2 = db.begin();
    expect('tx put, toJSON aborts', ['CELLAR_ECLOSED'],
      () => tx2.put(`u${round}`, { toJSON() { tx2.abort(); return 1; } }));
    ended('aborted by toJSON', tx2);
    const tx3 = db.begin();
    tx3.put(`v${round}`, 1);
    const committing = tx3.commitAsync();
    expect('abort during commitAsync', ['CELLAR_EBUSY'], () => tx3.abort());
    const tx4 = db.begin();
    const reading4 = tx4.getAsync('k1');
    expect('db put, toJSON closes the db', ['CELLAR_ECLOSED'],
      () => db.put(`d${round}`, { toJSON() { db.close(); return 1; } }));
    await expectAsync('commitAsync queued before close', [''], committing);
    await expectAsync('tx getAsync queued before close', ['', 'CELLAR_ECLOSED'], reading4);
    ended('db closed', tx4);
    expect('tx4 abort', [''], () => tx4.abort());
    db.close();
    assert.equal(anchor.get(`t${round}`), undefined);
    assert.equal(anchor.get(`u${round}`), undefined);
    assert.equal(anchor.get(`v${round}`), 1, 'the commit queued before close() landed');
    assert.equal(anchor.get(`d${round}`), undefined);
  }
  assert.deepEqual(bad, []);
  assert.equal(anchor.check().ok, true);
  anchor.close();
});

test('a db closed and reopened while its async work still runs', async () => {
  const file = tmpdb();
  const db = open(file, { encoding: 'utf8' });
  for (let i = 0; i < 100; i++) db.put(`k${i}`, `v${i}`);
  const pending = [];
  for (let i = 0; i < 100; i++) pending.push(db.getAsync(`k${i}`));
  db.close();
  const db2 = open(file, { encoding: 'utf8' }); // shares the open file with the closing handle
  db2.put('reopened', 'yes');
  const got = await Promise.all(pending);
  assert.equal(got[99], 'v99');
  assert.equal(db2.get('reopened'), 'yes');
  db2.close();
});

function runWorker(code, workerData) {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { pkgDir, ...workerData } });
    const msgs = [];
    w.on('message', (m) => msgs.push(m));
    w.on('error', reject);
    w.on('exit', (c) => (c === 0 ? resolve(msgs) : reject(new Error(`worker exit ${c}`))));
  });
}

test('a worker_thread closes its handle of the same file while the main thread works', async () => {
  const file = tmpdb();
  const db = open(file, { encoding: 'utf8' });
  db.put('main', '1');
  const worker = runWorker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const { open } = require(workerData.pkgDir);
    (async () => {
      for (let round = 0; round < 10; round++) {
        const db = open(workerData.file, { encoding: 'utf8' });
        const pending = [];
        for (let i = 0; i < 30; i++) pending.push(db.putAsync('w' + round + '-' + i, 'x'), db.getAsync('main'));
        const tx = db.begin();
        tx.put('wtx' + round, '1');
        const it = db.keys();
        it.next();
        db.close();   // with its async work in flight
        let dead = 0;
        try { tx.commit(); } catch (e) { if (e.code === 'CELLAR_ECLOSED') dead++; }
        try { for (;;) if (it.next().done) break; } catch (e) { if (e.code === 'CELLAR_ECLOSED') dead++; }
        const r = await Promise.allSettled(pending);
        parentPort.postMessage({ dead, ok: r.filter((x) => x.status === 'fulfilled').length });
      }
    })().catch((e) => parentPort.postMessage({ error: String(e.stack || e) }));
  `, { file });
  let n = 0;
  const deadline = Date.now() + 60000;
  let done = false;
  worker.then(() => { done = true; }, () => { done = true; });
  while (!done && Date.now() < deadline) {
    db.put(`m${n}`, String(n));
    assert.equal(await db.getAsync('main'), '1');
    for (const k of db.keys()) { void k; break; }
    n++;
  }
  const msgs = await worker;
  assert.equal(msgs.length, 10);
  for (const m of msgs) {
    assert.equal(m.error, undefined, m.error);
    assert.equal(m.dead, 2);
    assert.equal(m.ok, 60);
  }
  assert.equal(db.get('w9-29'), 'x');
  assert.equal(db.get('wtx0'), undefined);
  assert.equal(db.get(`m${n - 1}`), String(n - 1));
  db.close();
  const again = open(file, { encoding: 'utf8' });
  assert.equal(again.get('w0-0'), 'x');
  assert.equal(again.check().ok, true);
  again.close();
});

test('the main thread closes while a worker uses the same file; the worker goes on', async () => {
  const file = tmpdb();
  const db = open(file, { encoding: 'utf8' });
  db.put('a', '1');
  const worker = runWorker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const { open } = require(workerData.pkgDir);
    const db = open(workerData.file, { encoding: 'utf8' });
    parentPort.postMessage('ready');
    (async () => {
      for (let i = 0; i < 300; i++) {
        await db.putAsync('w' + i, String(i));
        db.transaction((tx) => tx.put('wt' + i, tx.get('a') || '?'));
      }
      db.close();
      parentPort.postMessage('done');
    })().catch((e) => parentPort.postMessage(String(e.stack || e)));
  `, { file });
  await new Promise((r) => setTimeout(r, 20));
  const pending = [];
  for (let i = 0; i < 20; i++) pending.push(db.putAsync(`m${i}`, 'x'));
  db.close();
  await Promise.all(pending);
  const msgs = await worker;
  assert.deepEqual(msgs, ['ready', 'done']);
  const again = open(file, { encoding: 'utf8' });
  assert.equal(again.get('w299'), '299');
  assert.equal(again.get('wt299'), '1');
  assert.equal(again.get('m19'), 'x');
  again.close();
});
