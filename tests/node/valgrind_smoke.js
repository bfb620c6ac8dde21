'use strict';
// A short run through every data path of the Node.js binding, for valgrind
// memcheck (ctest node_memcheck). Not a test file (node --test does not pick
// it up): the calls themselves are the checks, and any throw fails the run.
//   node --expose-gc tests/node/valgrind_smoke.js
// Short on purpose: V8 under valgrind is slow. It ends with handles nobody
// closed, collected by gc() so that the addon's finalizers run.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { open, salvage, CellarError } = require(path.join(__dirname, '..', '..', 'bindings', 'node'));

function expectCode(code, fn) {
  assert.throws(fn, (err) => err instanceof CellarError && err.code === code);
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
async function collect() {
  for (let i = 0; i < 4; i++) {
    global.gc();
    await tick();
  }
}
const openFds = () => (fs.existsSync('/proc/self/fd') ? fs.readdirSync('/proc/self/fd').length : 0);

async function work(file) {
  const clock = new Float64Array([1.7e12]);
  const db = open(file, { flag: 'n', cacheSize: 1 << 20, clock });
  // writes: small and out-of-line (larger than a page) values, binary keys
  for (let i = 0; i < 200; i++) db.put(`k${i}`, Buffer.alloc((i * 37) % 6000, 'v'));
  db.put(Buffer.from([0, 1, 2, 0]), Buffer.from('bin'));
  db.put('t', 'x', { ttl: 5000 });
  db.putMany([['p1', '1'], ['p2', Buffer.alloc(9000, '2')]]);
  db.putMany({ m1: 'x', m2: 'y' });
  db.putMany(new Map([['m3', 'z']]));
  // reads
  assert.equal(db.get('k1').length, 37);
  assert.equal(db.get('nope'), undefined);
  assert.ok(db.has('k2') && !db.has('nope'));
  assert.equal(db.getMany(['k1', 'nope', 'p2']).length, 3);
  assert.equal(db.size, [...db.keys()].length);
  for (const [k, v] of db) assert.deepEqual(db.get(k), v);
  [...db.values()];
  db.forEach(() => {});
  for (const k of db.keys()) { if (k) break; } // return() closes the iterator
  // counters, compare-and-swap, TTLs
  assert.equal(db.incr('n'), 1);
  assert.equal(db.decr('n', 3), -2);
  assert.equal(db.incr('big', 2n ** 60n), 2n ** 60n);
  assert.ok(db.cas('n', '-2', '5') && !db.cas('n', '0', '6'));
  assert.ok(db.cas('c', null, 'v') && db.cas('c', 'v', null));
  assert.ok(db.ttl('t') > 0 && db.expire('t', 1) && db.persist('t'));
  assert.ok(!db.expire('nope', 1) && db.ttl('nope') === undefined);
  db.put('gone', 'x', { ttl: 10 });
  clock[0] += 20;
  assert.equal(db.get('gone'), undefined);
  // deletes
  assert.ok(db.delete('k5') && !db.delete('nope'));
  // errors
  db.put('word', 'not a number');
  expectCode('CELLAR_ENAN', () => db.incr('word'));
  expectCode('CELLAR_ETOOBIG', () => db.get(Buffer.alloc(70000)));
  expectCode('CELLAR_ETOOBIG', () => db.put(Buffer.alloc(70000), 'v'));
  expectCode('CELLAR_ETOOBIG', () => db.getMany([Buffer.alloc(70000)]));
  assert.throws(() => db.get({}), TypeError);
  // transactions: commit, rollback on throw, by hand, conflict, retries
  assert.equal(db.transaction((tx) => {
    tx.put('a', '1');
    assert.equal(String(tx.get('a')), '1');
    tx.put('k3', 'w');
    tx.delete('k3');
    return tx.has('k1');
  }), true);
  assert.throws(() => db.transaction((tx) => { tx.put('rolled', 'back'); throw new Error('x'); }),
    { message: 'x' });
  const tx = db.begin();
  tx.put('x', 'y', { ttl: 1000 });
  tx.commit();
  expectCode('CELLAR_ECLOSED', () => tx.put('after', 'commit'));
  db.begin().abort();
  const ro = db.begin({ readOnly: true });
  ro.get('a');
  ro.abort();
  const tx1 = db.begin();
  tx1.get('a');
  db.put('a', '2');
  tx1.put('b', '3');
  expectCode('CELLAR_ECONFLICT', () => tx1.commit());
  let tries = 0;
  db.transaction((t) => {
    tries++;
    t.get('a');
    if (tries === 1) db.put('a', '3');
    t.put('b', '4');
  }, { retries: 2 });
  assert.equal(tries, 2);
  // the async twins, on the thread pool
  await db.putAsync('as', 'ync');
  assert.equal(String(await db.getAsync('as')), 'ync');
  assert.ok(await db.hasAsync('as'));
  await db.putManyAsync([['a1', '1'], ['a2', '2']]);
  assert.equal((await db.getManyAsync(['a1', 'nope'])).length, 2);
  assert.ok(await db.deleteAsync('a1'));
  await assert.rejects(db.getAsync(Buffer.alloc(70000)), { code: 'CELLAR_ETOOBIG' });
  await db.transactionAsync(async (t) => {
    t.put('ta', '1');
    await t.getAsync('k1');
  });
  const atx = db.begin();
  atx.put('tb', '2');
  await atx.commitAsync();
  await db.syncAsync();
  await db.checkpointAsync();
  assert.ok((await db.checkAsync()).ok);
  // maintenance
  assert.ok(db.stats().records > 0);
  db.sync();
  db.checkpoint();
  assert.ok(db.check().ok);
  db.compact();
  await db.compactAsync();
  db.backup(file + '.bak');
  await db.backupAsync(file + '.bak2');
  db.dump(file + '.dump');
  db.load(file + '.dump');
  // other encodings on a second handle of the same file (shared core db)
  const json = open(file, { encoding: 'json' });
  json.put('j', { a: [1, 'two'] });
  assert.deepEqual(json.get('j'), { a: [1, 'two'] });
  json.close();
  const utf8 = open(file, { encoding: 'utf8', keyEncoding: 'buffer' });
  utf8.put('ü', 'ß'.repeat(100));
  [...utf8.entries()];
  utf8.close();
  // an iterator and a transaction still open when the db closes, then used
  const it = db.entries();
  it.next();
  const openTx = db.begin();
  openTx.put('q', 'r');
  const pending = db.putAsync('late', 'write');
  await pending;
  db.close();
  db.close();
  expectCode('CELLAR_ECLOSED', () => db.get('k1'));
  // (the batch already decoded is handed out first; the next native call fails)
  expectCode('CELLAR_ECLOSED', () => { for (;;) { if (it.next().done) break; } });
  expectCode('CELLAR_ECLOSED', () => openTx.get('q'));
  await assert.rejects(db.getAsync('k1'), { code: 'CELLAR_ECLOSED' });
  // open errors, read-only errors
  expectCode('CELLAR_ENOENT', () => open(file + '.none', { flag: 'w' }));
  expectCode('CELLAR_ENOTDB', () => open(file + '.dump', { flag: 'w' }));
  const rodb = open(file + '.bak', { flag: 'r' });
  rodb.get('k1');
  expectCode('CELLAR_EREADONLY', () => rodb.put('a', 'b'));
  rodb.close();
  assert.ok(salvage(file + '.bak', file + '.salv') > 0);
  // handles nobody closed: collected with a transaction and an iterator
  // open, their finalizers close the file
  const fds = openFds();
  (() => {
    const forgotten = open(file + '.forgotten');
    forgotten.put('a', 'b');
    forgotten.begin().put('c', 'd');
    forgotten.keys().next();
  })();
  for (let i = 0; i < 10 && openFds() > fds; i++) await collect();
  assert.equal(openFds(), fds, 'the finalizers closed the forgotten db');
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cellardb-memcheck-'));
  try {
    for (let round = 0; round < 2; round++) await work(path.join(dir, `v${round}.cdb`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await collect();
  console.log('valgrind_smoke: done');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
