'use strict';
// The conformance suite (tests/spec/README.md): every case of
// tests/spec/cases/*.json, run through the Node API. Each case is one
// subtest named after it; `node --test --test-name-pattern NAME` picks one.
//
// Where the Node API answers "absent" or "not swapped" with a value rather
// than an error (get -> undefined, delete -> false, cas -> false, ...), the
// runner turns that answer into the error code the suite expects.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { cellardb, repoRoot, tmpdir } = require('./helpers');

const casesDir = path.join(repoRoot, 'tests', 'spec', 'cases');
const DEFAULT_CLOCK = 1700000000000;

function bytes(b) {
  if (b === null) return null;
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  if (b && typeof b === 'object' && typeof b.hex === 'string') {
    if (!/^([0-9a-fA-F]{2})*$/.test(b.hex)) throw new Error(`bad hex ${b.hex}`);
    return Buffer.from(b.hex, 'hex');
  }
  if (b && typeof b === 'object' && typeof b.repeat === 'string') {
    return Buffer.from(b.repeat.repeat(b.count), 'utf8');
  }
  throw new Error(`not a BYTES: ${JSON.stringify(b)}`);
}

// An "expected" failure of the Node API's value-style answers.
class Code extends Error {
  constructor(code) { super(code); this.code = code; }
}

function show(v) {
  if (Buffer.isBuffer(v)) return `bytes(${v.length < 64 ? JSON.stringify(v.toString('latin1')) : `${v.length} bytes`})`;
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'bigint') return `${v}n`;
  return JSON.stringify(v);
}

class Runner {
  constructor(c, dir) {
    this.case = c;
    this.file = path.join(dir, 'db');
    this.options = c.options || {};
    this.clock = new Float64Array([this.options.clock === undefined ? DEFAULT_CLOCK : this.options.clock]);
    this.db = null;
    this.txns = new Map();
  }

  open(overrides = {}) {
    const o = { ...this.options, ...overrides };
    const opts = { keyEncoding: 'buffer', encoding: 'buffer', clock: this.clock };
    if (o.page_size !== undefined) opts.pageSize = o.page_size;
    if (o.cache_size !== undefined) opts.cacheSize = o.cache_size;
    if (o.sync !== undefined) opts.sync = o.sync;
    opts.flag = o.readonly ? 'r' : 'c';
    this.db = cellardb.open(this.file, opts);
  }

  close() {
    for (const tx of this.txns.values()) {
      try { tx.abort(); } catch { /* dead already */ }
    }
    this.txns.clear();
    if (this.db) this.db.close();
  }

  txn(name) {
    const tx = this.txns.get(name);
    if (!tx) throw new Error(`runner: no transaction named ${name}`);
    return tx;
  }

  // Run one op; returns its result in the suite's terms or throws.
  call(op, a) {
    const db = this.db;
    switch (op) {
      case 'get': { const v = db.get(bytes(a[0])); if (v === undefined) throw new Code('CELLAR_ENOTFOUND'); return v; }
      case 'put': db.put(bytes(a[0]), bytes(a[1])); return null;
      case 'put_ttl': db.put(bytes(a[0]), bytes(a[1]), { ttl: a[2] }); return null;
      case 'delete': if (!db.delete(bytes(a[0]))) throw new Code('CELLAR_ENOTFOUND'); return null;
      case 'exists': return db.has(bytes(a[0]));
      case 'count': return db.size;
      case 'incr': return db.incr(bytes(a[0]), a.length > 1 ? a[1] : 1);
      case 'decr': return db.decr(bytes(a[0]), a.length > 1 ? a[1] : 1);
      case 'cas': if (!db.cas(bytes(a[0]), bytes(a[1]), bytes(a[2]))) throw new Code('CELLAR_EMISMATCH'); return null;
      case 'expire': if (!db.expire(bytes(a[0]), a[1])) throw new Code('CELLAR_ENOTFOUND'); return null;
      case 'ttl': { const t = db.ttl(bytes(a[0])); if (t === undefined) throw new Code('CELLAR_ENOTFOUND'); return t; }
      case 'persist': if (!db.persist(bytes(a[0]))) throw new Code('CELLAR_ENOTFOUND'); return null;
      case 'get_many': return db.getMany(a[0].map(bytes)).map((v) => (v === undefined ? null : v));
      case 'put_many': db.putMany(a[0].map(([k, v]) => [bytes(k), bytes(v)])); return null;
      case 'iterate': return [...db];
      case 'advance_clock': this.clock[0] += a[0]; return null;
      case 'close': {
        const d = this.db;
        d.close();
        return null;
      }
      case 'reopen': {
        if (this.db && this.db.isOpen) this.db.close();
        this.db = null;
        this.open(a[0] || {});
        return null;
      }
      case 'txn_begin': {
        const tx = db.begin({ readOnly: a[1] === 'readonly' });
        this.txns.set(a[0], tx);
        return null;
      }
      case 'txn_get': { const v = this.txn(a[0]).get(bytes(a[1])); if (v === undefined) throw new Code('CELLAR_ENOTFOUND'); return v; }
      case 'txn_exists': return this.txn(a[0]).has(bytes(a[1]));
      case 'txn_put': this.txn(a[0]).put(bytes(a[1]), bytes(a[2])); return null;
      case 'txn_put_ttl': this.txn(a[0]).put(bytes(a[1]), bytes(a[2]), { ttl: a[3] }); return null;
      case 'txn_delete': if (!this.txn(a[0]).delete(bytes(a[1]))) throw new Code('CELLAR_ENOTFOUND'); return null;
      case 'txn_commit': {
        const tx = this.txn(a[0]);
        this.txns.delete(a[0]);
        tx.commit();
        return null;
      }
      case 'txn_abort': {
        const tx = this.txn(a[0]);
        this.txns.delete(a[0]);
        tx.abort();
        return null;
      }
      default:
        throw new Error(`runner: unknown op ${op}`);
    }
  }
}

// Compare a result with the expected JSON for the op.
function check(op, expected, actual, where) {
  const fail = () => assert.fail(`${where}: expected ${JSON.stringify(expected)}, got ${show(actual)}`);
  switch (op) {
    case 'get':
    case 'txn_get':
      if (!Buffer.isBuffer(actual) || !actual.equals(bytes(expected))) fail();
      return;
    case 'get_many': {
      if (!Array.isArray(actual) || actual.length !== expected.length) fail();
      expected.forEach((e, i) => {
        if (e === null ? actual[i] !== null : !(Buffer.isBuffer(actual[i]) && actual[i].equals(bytes(e)))) fail();
      });
      return;
    }
    case 'iterate': {
      const norm = (pairs) => pairs.map(([k, v]) => `${k.toString('hex')}:${v.toString('hex')}`).sort();
      const want = norm(expected.map(([k, v]) => [bytes(k), bytes(v)]));
      if (!Array.isArray(actual)) fail();
      assert.deepEqual(norm(actual), want, `${where}: iterate (as a multiset)`);
      return;
    }
    default:
      if (typeof actual === 'bigint') actual = Number(actual);
      if (actual !== expected) fail();
  }
}

function runCase(c) {
  const r = new Runner(c, tmpdir('cellardb-spec-'));
  try {
    const oe = c.open_expect || { ok: null };
    let openErr = null;
    try { r.open(); } catch (err) { openErr = err; }
    if ('error' in oe) {
      assert.ok(openErr, `open: expected ${oe.error}, but it opened`);
      assert.equal(openErr.code, oe.error, `open: expected ${oe.error}, got ${openErr.code}: ${openErr.message}`);
    } else if (openErr) {
      throw openErr;
    }
    (c.steps || []).forEach((step, i) => {
      const where = `step ${i} (${step.op} ${JSON.stringify(step.args || [])})`;
      let result;
      let err = null;
      try {
        result = r.call(step.op, step.args || []);
      } catch (e) {
        err = e;
      }
      if (err && /^runner:/.test(err.message)) throw err;
      const ex = step.expect;
      if (ex && 'error' in ex) {
        if (!err) assert.fail(`${where}: expected error ${ex.error}, got ok ${show(result)}`);
        assert.equal(err.code, ex.error, `${where}: expected ${ex.error}, got ${err.code}: ${err.message}`);
        return;
      }
      if (err) assert.fail(`${where}: unexpected error ${err.code || err.name}: ${err.message}`);
      if (ex && 'ok' in ex) check(step.op, ex.ok, result, where);
    });
  } finally {
    r.close();
  }
}

const files = fs.existsSync(casesDir)
  ? fs.readdirSync(casesDir).filter((f) => f.endsWith('.json')).sort() : [];

test('the conformance suite is present', () => {
  assert.ok(files.length > 0, `no cases under ${casesDir}`);
});

for (const f of files) {
  const suite = JSON.parse(fs.readFileSync(path.join(casesDir, f), 'utf8'));
  test.describe(`spec ${f}: ${suite.suite}`, () => {
    for (const c of suite.cases) test(c.name, () => runCase(c));
  });
}
