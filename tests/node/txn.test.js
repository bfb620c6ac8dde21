'use strict';
// Transactions: commit on return, rollback on throw, conflicts and retries,
// the async form, and transactions begun by hand.
const test = require('node:test');
const assert = require('node:assert/strict');
const { cellardb, tmpdb } = require('./helpers');

const { open } = cellardb;

test('transaction commits when the function returns and returns its result', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  const r = db.transaction((tx) => {
    tx.put('a', '1');
    tx.put('b', '2', { ttl: 100000 });
    assert.equal(tx.get('a'), '1', 'reads see own writes');
    assert.equal(tx.has('b'), true);
    assert.equal(db.get('a'), undefined, 'invisible outside before commit');
    assert.equal(tx.delete('a'), true);
    assert.equal(tx.get('a'), undefined);
    assert.equal(tx.delete('nothing'), false);
    tx.put('a', '3');
    return 'done';
  });
  assert.equal(r, 'done');
  assert.equal(db.get('a'), '3');
  assert.equal(db.get('b'), '2');
  assert.ok(db.ttl('b') > 0);
  db.close();
});

test('transaction rolls back and rethrows when the function throws', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  db.put('keep', 'old');
  const boom = new Error('boom');
  assert.throws(() => db.transaction((tx) => {
    tx.put('keep', 'new');
    tx.put('other', 'x');
    throw boom;
  }), (err) => err === boom);
  assert.equal(db.get('keep'), 'old');
  assert.equal(db.get('other'), undefined);
  db.close();
});

test('a conflicting commit fails with CELLAR_ECONFLICT', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  db.put('n', '0');
  assert.throws(() => db.transaction((tx) => {
    const n = Number(tx.get('n'));
    db.put('n', '100');                   // another commit changes what we read
    tx.put('n', String(n + 1));
  }), { code: 'CELLAR_ECONFLICT' });
  assert.equal(db.get('n'), '100');
  db.close();
});

test('retries rerun the function after a conflict', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  db.put('n', '0');
  let runs = 0;
  const r = db.transaction((tx) => {
    runs++;
    const n = Number(tx.get('n'));
    if (runs <= 2) db.incr('n', 10);      // interfere twice
    tx.put('n', String(n + 1));
    return n + 1;
  }, { retries: 3 });
  assert.equal(runs, 3);
  assert.equal(r, 21);
  assert.equal(db.get('n'), '21');
  // Out of retries: the conflict surfaces.
  runs = 0;
  assert.throws(() => db.transaction((tx) => {
    runs++;
    tx.get('n');
    db.incr('n');
    tx.put('n', 'x');
  }, { retries: 1 }), { code: 'CELLAR_ECONFLICT' });
  assert.equal(runs, 2);
  db.close();
});

test('write-only transactions do not conflict (last commit wins)', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  const t1 = db.begin();
  const t2 = db.begin();
  t1.put('k', 'one');
  t2.put('k', 'two');
  t1.commit();
  t2.commit();
  assert.equal(db.get('k'), 'two');
  db.close();
});

test('read-only transactions', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  db.put('a', '1');
  const v = db.transaction((tx) => tx.get('a'), { readOnly: true });
  assert.equal(v, '1');
  assert.throws(() => db.transaction((tx) => tx.put('a', '2'), { readOnly: true }),
    { code: 'CELLAR_EREADONLY' });
  db.close();
});

test('begin / commit / abort by hand', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  const tx = db.begin();
  assert.equal(tx.isOpen, true);
  tx.put('x', '1');
  tx.abort();
  assert.equal(tx.isOpen, false);
  assert.equal(db.get('x'), undefined);
  const t2 = db.begin();
  t2.put('x', '2');
  t2.commit();
  assert.equal(db.get('x'), '2');
  assert.equal(String(t2), '[object CellarTransaction]');
  db.close();
});

test('transactionAsync: awaits inside, commits on the pool, rolls back on rejection', async () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  const r = await db.transactionAsync(async (tx) => {
    tx.put('a', '1');
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(await tx.getAsync('a'), '1');
    tx.put('b', '2');
    return 'ok';
  });
  assert.equal(r, 'ok');
  assert.deepEqual(db.getMany(['a', 'b']), ['1', '2']);
  await assert.rejects(db.transactionAsync(async (tx) => {
    tx.put('a', 'changed');
    await null;
    throw new Error('nope');
  }), /nope/);
  assert.equal(db.get('a'), '1');
  // A plain (non-async) function works too.
  assert.equal(await db.transactionAsync((tx) => { tx.put('c', '3'); return 7; }), 7);
  assert.equal(db.get('c'), '3');
  db.close();
});

test('transactionAsync retries conflicts', async () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  db.put('n', '0');
  let runs = 0;
  await db.transactionAsync(async (tx) => {
    runs++;
    const n = Number(tx.get('n'));
    if (runs === 1) await db.putAsync('n', '50');
    tx.put('n', String(n + 1));
  }, { retries: 2 });
  assert.equal(runs, 2);
  assert.equal(db.get('n'), '51');
  await assert.rejects(db.transactionAsync(async (tx) => {
    tx.get('n');
    await db.putAsync('n', 'other');
    tx.put('n', 'mine');
  }), { code: 'CELLAR_ECONFLICT' });
  db.close();
});

test('concurrent async transactions on one handle', async () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  const jobs = [];
  for (let i = 0; i < 50; i++) {
    jobs.push(db.transactionAsync(async (tx) => {
      tx.put(`k${i}`, String(i));
      tx.put(`shared`, String(i));     // write-only: no conflicts
    }));
  }
  await Promise.all(jobs);
  assert.equal(db.size, 51);
  db.close();
});

test('a transaction is busy while its async commit runs', async () => {
  const db = open(tmpdb());
  const tx = db.begin();
  tx.put('a', 'b');
  const p = tx.commitAsync();
  assert.throws(() => tx.put('c', 'd'), (e) => ['CELLAR_EBUSY', 'CELLAR_ECLOSED'].includes(e.code));
  await p;
  assert.throws(() => tx.put('c', 'd'), { code: 'CELLAR_ECLOSED' });
  db.close();
});
