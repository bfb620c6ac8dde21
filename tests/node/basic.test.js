'use strict';
// Every synchronous method, the encodings and Map-like iteration.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { cellardb, tmpdb, tmpdir } = require('./helpers');

const { open, Database, CellarError } = cellardb;

test('module exports', () => {
  assert.equal(typeof open, 'function');
  assert.equal(typeof cellardb.salvage, 'function');
  assert.match(cellardb.version, /^\d+\.\d+\.\d+$/);
  assert.equal(cellardb.codes.CELLAR_OK, 0);
  assert.equal(cellardb.codes.CELLAR_ENOTFOUND, -1);
  assert.equal(cellardb.codes.CELLAR_ELOCKED, -8);
  assert.equal(cellardb.MAX_KEY_SIZE, 65536);
  assert.equal(cellardb.MAX_VALUE_SIZE, 1024 * 1024 * 1024);
  assert.ok(new CellarError('m', 'CELLAR_EIO') instanceof Error);
});

test('get / put / delete / has with the default buffer encoding', () => {
  const db = open(tmpdb());
  assert.ok(db instanceof Database);
  assert.equal(db.encoding, 'buffer');
  assert.equal(db.get('k'), undefined);
  db.put('k', Buffer.from('value'));
  const v = db.get('k');
  assert.ok(Buffer.isBuffer(v));
  assert.equal(v.toString(), 'value');
  assert.equal(db.has('k'), true);
  assert.equal(db.has('nope'), false);
  db.put('s', 'a string is stored as UTF-8');
  assert.deepEqual(db.get('s'), Buffer.from('a string is stored as UTF-8'));
  db.put('u8', new Uint8Array([1, 2, 3]));
  assert.deepEqual(db.get('u8'), Buffer.from([1, 2, 3]));
  db.put('f32', new Float32Array([1.5]));
  assert.equal(db.get('f32').length, 4);
  assert.equal(db.delete('k'), true);
  assert.equal(db.delete('k'), false);
  assert.equal(db.get('k'), undefined);
  assert.equal(db.size, 3);
  db.close();
});

test('a returned Buffer is a copy that later calls do not overwrite', () => {
  const db = open(tmpdb());
  db.put('a', 'first');
  db.put('b', 'second');
  const a = db.get('a');
  const b = db.get('b');
  assert.equal(a.toString(), 'first');
  assert.equal(b.toString(), 'second');
  a[0] = 0x46;
  assert.equal(db.get('a').toString(), 'first');
  db.close();
});

test('keys: strings, Buffers and typed arrays address the same bytes', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  db.put('key', 'v1');
  assert.equal(db.get(Buffer.from('key')), 'v1');
  assert.equal(db.get(new Uint8Array(Buffer.from('key'))), 'v1');
  const pooled = Buffer.from('key'); // a view at an offset into a shared pool
  assert.equal(db.get(new DataView(pooled.buffer, pooled.byteOffset, pooled.length)), 'v1');
  db.put(Buffer.from([0, 255, 0]), 'binary');
  assert.equal(db.get(Buffer.from([0, 255, 0])), 'binary');
  assert.equal(db.get(Buffer.from([0, 255])), undefined);
  db.put('', 'empty key');
  assert.equal(db.get(''), 'empty key');
  assert.equal(db.get(Buffer.alloc(0)), 'empty key');
  db.put('ключ 🔑', 'unicode');
  assert.equal(db.get(Buffer.from('ключ 🔑')), 'unicode');
  db.close();
});

test('empty values are present', () => {
  const db = open(tmpdb());
  db.put('e', Buffer.alloc(0));
  assert.equal(db.has('e'), true);
  assert.deepEqual(db.get('e'), Buffer.alloc(0));
  db.put('s', '');
  assert.deepEqual(db.get('s'), Buffer.alloc(0));
  db.close();
});

test('large keys and values', () => {
  const db = open(tmpdb());
  const bigKey = Buffer.alloc(65536, 7);
  const bigVal = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < bigVal.length; i += 4096) bigVal[i] = i & 0xff;
  db.put(bigKey, bigVal);
  assert.ok(db.get(bigKey).equals(bigVal));
  // A string key of exactly 65536 bytes (the limit) works; one byte more does not.
  db.put('k'.repeat(65536), 'x');
  assert.deepEqual(db.get('k'.repeat(65536)), Buffer.from('x'));
  assert.throws(() => db.put('k'.repeat(65537), 'x'), { code: 'CELLAR_ETOOBIG' });
  // Long strings go through the slow path (more than the scratch buffer).
  assert.throws(() => db.get('k'.repeat(300000)), { code: 'CELLAR_ETOOBIG' });
  const longText = 'é'.repeat(200000);
  db.put('long', longText);
  assert.equal(db.get('long').toString(), longText);
  db.close();
});

test('utf8 encoding', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  assert.equal(db.encoding, 'utf8');
  db.put('a', 'héllo');
  assert.equal(db.get('a'), 'héllo');
  db.put('b', Buffer.from('raw'));
  assert.equal(db.get('b'), 'raw');
  assert.deepEqual(db.getMany(['a', 'x', 'b']), ['héllo', undefined, 'raw']);
  assert.throws(() => db.put('c', 12), TypeError);
  db.close();
});

test('json encoding', () => {
  const db = open(tmpdb(), { encoding: 'json' });
  const doc = { name: 'cellar', tags: ['a', 'b'], n: 3, nested: { ok: true }, nil: null };
  db.put('doc', doc);
  assert.deepEqual(db.get('doc'), doc);
  db.put('num', 42);
  assert.equal(db.get('num'), 42);
  db.put('str', 'text');
  assert.equal(db.get('str'), 'text');
  db.put('null', null);
  assert.equal(db.get('null'), null);
  assert.equal(db.get('absent'), undefined);
  assert.throws(() => db.put('u', undefined), TypeError);
  assert.throws(() => db.put('f', () => 1), TypeError);
  assert.deepEqual([...db.values()].length, 4);
  db.close();
});

test('incr / decr', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  assert.equal(db.incr('n'), 1);
  assert.equal(db.incr('n', 10), 11);
  assert.equal(db.decr('n'), 10);
  assert.equal(db.decr('n', 20), -10);
  assert.equal(db.get('n'), '-10');
  assert.equal(db.incr('big', 2n ** 60n), 2n ** 60n);
  assert.equal(typeof db.incr('big', 0), 'bigint');
  db.put('text', 'abc');
  assert.throws(() => db.incr('text'), { code: 'CELLAR_ENAN' });
  db.put('max', '9223372036854775807');
  assert.throws(() => db.incr('max'), { code: 'CELLAR_EOVERFLOW' });
  assert.throws(() => db.incr('n', 1.5), RangeError);
  assert.throws(() => db.incr('n', '1'), TypeError);
  db.close();
});

test('cas', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  assert.equal(db.cas('k', null, 'v1'), true); // only if absent
  assert.equal(db.cas('k', null, 'v2'), false);
  assert.equal(db.cas('k', 'wrong', 'v2'), false);
  assert.equal(db.cas('k', 'v1', 'v2'), true);
  assert.equal(db.get('k'), 'v2');
  assert.equal(db.cas('k', 'v2', null), true); // delete
  assert.equal(db.has('k'), false);
  db.put('e', '');
  assert.equal(db.cas('e', null, 'x'), false, 'an empty value is present');
  assert.equal(db.cas('e', '', 'x'), true);
  db.close();
});

test('TTL: put with ttl, expire, ttl, persist (fake clock)', () => {
  const clock = new Float64Array([1_700_000_000_000]);
  const db = open(tmpdb(), { encoding: 'utf8', clock });
  db.put('t', 'v', { ttl: 1000 });
  assert.equal(db.ttl('t'), 1000);
  clock[0] += 400;
  assert.equal(db.ttl('t'), 600);
  assert.equal(db.get('t'), 'v');
  clock[0] += 600;
  assert.equal(db.get('t'), undefined);
  assert.equal(db.ttl('t'), undefined);
  db.put('p', 'v');
  assert.equal(db.ttl('p'), -1);
  assert.equal(db.expire('p', 50), true);
  assert.equal(db.ttl('p'), 50);
  assert.equal(db.persist('p'), true);
  assert.equal(db.ttl('p'), -1);
  assert.equal(db.expire('absent', 10), false);
  assert.equal(db.persist('absent'), false);
  assert.equal(db.expire('p', 0), true);
  assert.equal(db.has('p'), false);
  assert.throws(() => db.put('x', 'v', { ttl: -1 }), RangeError);
  assert.throws(() => db.put('x', 'v', { ttl: 'soon' }), TypeError);
  db.close();
});

test('getMany / putMany', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  db.putMany([['a', '1'], ['b', '2']]);
  db.putMany(new Map([['c', '3']]));
  db.putMany({ d: '4', e: '5' });
  assert.deepEqual(db.getMany(['a', 'b', 'c', 'd', 'e', 'zz']), ['1', '2', '3', '4', '5', undefined]);
  assert.deepEqual(db.getMany([]), []);
  db.putMany([]);
  assert.equal(db.size, 5);
  assert.throws(() => db.putMany([['a']]), TypeError);
  assert.throws(() => db.putMany('ab'), TypeError);
  assert.throws(() => db.getMany('a'), TypeError);
  assert.throws(() => db.getMany([1]), TypeError);
  db.close();
});

test('Map-like iteration: size, keys, values, entries, Symbol.iterator, forEach', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  const want = new Map();
  for (let i = 0; i < 2500; i++) {
    want.set(`key-${i}`, `value-${i}-${'x'.repeat(i % 50)}`);
    db.put(`key-${i}`, want.get(`key-${i}`));
  }
  assert.equal(db.size, 2500);
  const seen = new Map(db);
  assert.deepEqual(seen, want);
  assert.deepEqual(new Set(db.keys()), new Set(want.keys()));
  assert.deepEqual([...db.values()].sort(), [...want.values()].sort());
  assert.equal([...db.entries()].length, 2500);
  let n = 0;
  db.forEach((v, k, d) => {
    assert.equal(want.get(k), v);
    assert.equal(d, db);
    n++;
  });
  assert.equal(n, 2500);
  // Breaking out early closes the iterator; a new one starts again.
  for (const [k] of db) { assert.ok(want.has(k)); break; }
  assert.equal([...db.keys()].length, 2500);
  db.close();
});

test('iteration of records larger than a batch, and buffer keys', () => {
  const db = open(tmpdb(), { keyEncoding: 'buffer' });
  const big = Buffer.alloc(600 * 1024, 1);
  db.put(Buffer.from([1]), big);
  db.put(Buffer.from([2]), Buffer.from('small'));
  const got = new Map([...db].map(([k, v]) => [k.toString('hex'), v]));
  assert.ok(got.get('01').equals(big));
  assert.equal(got.get('02').toString(), 'small');
  assert.ok([...db.keys()].every((k) => Buffer.isBuffer(k)));
  db.close();
});

test('the loop body may write to the db while iterating', () => {
  const db = open(tmpdb(), { encoding: 'utf8' });
  for (let i = 0; i < 300; i++) db.put(`k${i}`, 'old');
  const seen = new Set();
  for (const [k, v] of db) {
    if (!k.startsWith('k')) continue;
    assert.equal(seen.has(k), false, `${k} yielded twice`);
    seen.add(k);
    assert.ok(v === 'old' || v === 'new');
    db.put(k, 'new');                      // overwrite while iterating
    assert.equal(db.get(k), 'new');        // reuses the scratch buffer
  }
  assert.equal(seen.size, 300);
  assert.ok([...db.values()].every((v) => v === 'new'));
  db.close();
});

test('stats / sync / checkpoint / compact / check / backup', () => {
  const dir = tmpdir();
  const db = open(path.join(dir, 'db'), { encoding: 'utf8' });
  for (let i = 0; i < 1000; i++) db.put(`k${i}`, `v${i}`);
  for (let i = 0; i < 500; i++) db.delete(`k${i}`);
  const s = db.stats();
  assert.equal(s.records, 500);
  for (const f of ['fileSize', 'pageSize', 'pages', 'cacheCapacity', 'commits', 'walSize',
    'globalDepth', 'fillFactor', 'freePages', 'bucketPages']) {
    assert.equal(typeof s[f], 'number', f);
  }
  db.sync();
  db.checkpoint();
  db.compact();
  const c = db.check();
  assert.deepEqual(c, { ok: true, count: 0, problems: [] });
  db.backup(path.join(dir, 'copy'));
  db.close();
  const copy = open(path.join(dir, 'copy'), { encoding: 'utf8', flag: 'r' });
  assert.equal(copy.size, 500);
  assert.equal(copy.get('k999'), 'v999');
  copy.close();
});

test('dump and load', () => {
  const dir = tmpdir();
  const db = open(path.join(dir, 'a'));
  db.put(Buffer.from([0, 1, 2, 255]), Buffer.from([9, 10, 13, 0]));
  db.put('text', 'line\nbreak');
  db.dump(path.join(dir, 'dump.txt'));
  db.close();
  assert.ok(fs.statSync(path.join(dir, 'dump.txt')).size > 0);
  const db2 = open(path.join(dir, 'b'));
  db2.load(path.join(dir, 'dump.txt'));
  assert.deepEqual(db2.get(Buffer.from([0, 1, 2, 255])), Buffer.from([9, 10, 13, 0]));
  assert.equal(db2.get('text').toString(), 'line\nbreak');
  db2.close();
});

test('open flags and options', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'db');
  assert.throws(() => open(file, { flag: 'r' }), { code: 'CELLAR_ENOENT' });
  assert.throws(() => open(file, { flag: 'w' }), { code: 'CELLAR_ENOENT' });
  const db = open(file, { flag: 'c', sync: 'full', pageSize: 8192, cacheSize: 1 << 20, mode: 0o600 });
  db.put('a', 'b');
  assert.equal(db.stats().pageSize, 8192);
  db.close();
  const ro = open(file, { flag: 'r' });
  assert.equal(ro.readOnly, true);
  assert.deepEqual(ro.get('a'), Buffer.from('b'));
  assert.throws(() => ro.put('a', 'c'), { code: 'CELLAR_EREADONLY' });
  ro.close();
  const w = open(file, { flag: 'w', sync: 'off' });
  assert.equal(w.size, 1);
  w.close();
  const n = open(file, { flag: 'n' });
  assert.equal(n.size, 0, "flag 'n' starts empty");
  n.close();
  const u = open(new URL(`file://${file}`));
  assert.equal(u.path, file);
  u.close();
});

test('files are created with the requested mode (umask applies)', () => {
  const file = tmpdb();
  const db = open(file, { mode: 0o600 });
  db.put('a', 'b');
  db.close();
  assert.equal(fs.statSync(file).mode & 0o777, 0o600 & ~process.umask());
});

test('the same file opened twice in one process shares one database', () => {
  const file = tmpdb();
  const a = open(file, { encoding: 'utf8' });
  const b = open(file, { encoding: 'utf8' });
  a.put('k', 'from a');
  assert.equal(b.get('k'), 'from a');
  a.close();
  assert.equal(b.get('k'), 'from a', 'the other handle stays usable');
  b.close();
});

test('data survives close and reopen', () => {
  const file = tmpdb();
  let db = open(file, { encoding: 'json' });
  for (let i = 0; i < 200; i++) db.put(`k${i}`, { i });
  db.close();
  db = open(file, { encoding: 'json' });
  assert.equal(db.size, 200);
  assert.deepEqual(db.get('k123'), { i: 123 });
  db.close();
});

test('isOpen and closing twice', () => {
  const db = open(tmpdb());
  assert.equal(db.isOpen, true);
  db.close();
  assert.equal(db.isOpen, false);
  db.close();
  assert.equal(String(db), '[object CellarDatabase]');
});

test('salvage', () => {
  const dir = tmpdir();
  const db = open(path.join(dir, 'src'));
  db.put('a', '1');
  db.close();
  const n = cellardb.salvage(path.join(dir, 'src'), path.join(dir, 'dst'));
  assert.equal(typeof n, 'number');
  assert.throws(() => cellardb.salvage(1, 2), TypeError);
});
