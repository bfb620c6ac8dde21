'use strict';
// Database: the public handle. Synchronous methods call the core directly on
// the JS thread; the *Async twins run on the libuv thread pool (src/async.c)
// and never block the event loop. A Database that is garbage-collected
// without close() is closed by the addon's finalizer.

const { native, VALUE_BUF } = require('./native');
const { keyArg, keyItem, valueCodec, keyCodec, describe } = require('./codec');
const { typeError, valueError, rangeError } = require('./errors');
const { Transaction, runTransaction, runTransactionAsync } = require('./transaction');

const FLAGS = { r: 0x1, w: 0x0, c: 0x2, n: 0x2 | 0x4 };
const OPEN_OPTIONS = ['flag', 'cacheSize', 'sync', 'pageSize', 'lockTimeout', 'mode', 'encoding',
  'keyEncoding', 'clock'];
const SYNC = { normal: 0, full: 1, off: 2 };
const ITER_KEYS = 1;
const ITER_VALUES = 2;
const ITER_BOTH = 3;

function optInt(opts, name, min, max, dflt) {
  const v = opts[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number') throw typeError(`option ${name} must be a number (got ${describe(v)})`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw rangeError(`option ${name} must be an integer from ${min} to ${max} (got ${v})`);
  }
  return v;
}

function ttlArg(opts) {
  if (opts === undefined || opts === null) return undefined;
  if (typeof opts !== 'object') throw typeError(`options must be an object (got ${describe(opts)})`);
  return msArg(opts.ttl, 'ttl', true);
}

function msArg(v, name, optional) {
  if (optional && (v === undefined || v === null)) return undefined;
  if (typeof v !== 'number') throw typeError(`${name} must be a number of milliseconds (got ${describe(v)})`);
  if (!(v >= 0) || !Number.isFinite(v)) throw rangeError(`${name} must be >= 0 and finite (got ${v})`);
  return Math.floor(v);
}

function deltaArg(delta) {
  if (delta === undefined) return 1;
  if (typeof delta === 'bigint') return delta;
  if (typeof delta !== 'number') throw typeError(`delta must be an integer (got ${describe(delta)})`);
  if (!Number.isSafeInteger(delta)) throw rangeError(`delta must be a safe integer (got ${delta})`);
  return delta;
}

function pathArg(p, what) {
  if (p instanceof URL) p = require('node:url').fileURLToPath(p);
  else if (Buffer.isBuffer(p)) p = p.toString();
  if (typeof p !== 'string') throw typeError(`${what} must be a string (got ${describe(p)})`);
  if (p.length === 0 || p.includes('\0')) throw valueError(`${what} must be a non-empty string without NUL`);
  return p;
}

// Entries for putMany: an array of [key, value], a Map, or a plain object.
function splitEntries(entries, codec) {
  const keys = [];
  const values = [];
  if (entries instanceof Map || Array.isArray(entries)) {
    for (const pair of entries) {
      if (!Array.isArray(pair) || pair.length < 2) {
        throw typeError('putMany entries must be [key, value] pairs');
      }
      keys.push(keyItem(pair[0]));
      values.push(codec.item(pair[1]));
    }
  } else if (entries !== null && typeof entries === 'object' && !ArrayBuffer.isView(entries)) {
    for (const k of Object.keys(entries)) {
      keys.push(k);
      values.push(codec.item(entries[k]));
    }
  } else {
    throw typeError(`putMany expects an array of [key, value], a Map or an object (got ${describe(entries)})`);
  }
  return [keys, values];
}

function keyList(keys) {
  if (!Array.isArray(keys)) throw typeError(`keys must be an array (got ${describe(keys)})`);
  return keys.map(keyItem);
}

class Database {
  #h;
  #path;
  #codec;
  #keyCodec;
  #readOnly;

  constructor(path, options) {
    const opts = options === undefined ? {} : options;
    if (opts === null || typeof opts !== 'object') {
      throw typeError(`options must be an object (got ${describe(options)})`);
    }
    const file = pathArg(path, 'path');
    // A misspelt option (readonly, cache_size, ...) would be ignored silently.
    for (const name of Object.keys(opts)) {
      if (!OPEN_OPTIONS.includes(name)) {
        throw valueError(`unknown option ${name} (known: ${OPEN_OPTIONS.join(', ')})`);
      }
    }
    const flag = opts.flag === undefined ? 'c' : opts.flag;
    if (!Object.prototype.hasOwnProperty.call(FLAGS, flag)) {
      throw valueError(`flag must be 'r', 'w', 'c' or 'n' (got ${String(flag)})`);
    }
    const sync = opts.sync === undefined ? 'normal' : opts.sync;
    if (!Object.prototype.hasOwnProperty.call(SYNC, sync)) {
      throw valueError(`sync must be 'normal', 'full' or 'off' (got ${String(sync)})`);
    }
    const cacheSize = optInt(opts, 'cacheSize', 0, Number.MAX_SAFE_INTEGER, 0);
    const pageSize = optInt(opts, 'pageSize', 0, 65536, 0);
    const lockTimeout = optInt(opts, 'lockTimeout', 0, 0x7fffffff, 0);
    // mode 0 would mean "no permissions" to the caller but 0o666 to the core
    const mode = optInt(opts, 'mode', 1, 0o7777, 0);
    this.#codec = valueCodec(opts.encoding);
    this.#keyCodec = keyCodec(opts.keyEncoding);
    this.#readOnly = flag === 'r';
    this.#path = file;
    const clock = opts.clock === undefined || opts.clock === null ? undefined : opts.clock;
    if (clock !== undefined && !(clock instanceof Float64Array && clock.length >= 1)) {
      throw typeError('option clock must be a Float64Array (element 0: now in ms)');
    }
    this.#h = native.open(file, FLAGS[flag], cacheSize, pageSize, SYNC[sync], lockTimeout, mode,
      clock);
  }

  /** The file name given to open(). */
  get path() { return this.#path; }
  get encoding() { return this.#codec.name; }
  get keyEncoding() { return this.#keyCodec.name; }
  get readOnly() { return this.#readOnly; }
  get isOpen() { return native.isOpen(this.#h); }
  /** Number of records (Map-like). */
  get size() { return native.count(this.#h); }

  get(key) {
    const r = native.get(this.#h, keyArg(key));
    return r === undefined ? undefined : this.#codec.fromNative(r);
  }

  has(key) { return native.has(this.#h, keyArg(key)); }

  put(key, value, options) {
    // User code (an options getter, a toJSON) may call the db and reuse the
    // scratch buffers: run it all before the key is written to KEY_BUF.
    const ttl = ttlArg(options);
    const v = this.#codec.arg(value);
    native.put(this.#h, keyArg(key), v, ttl);
  }

  delete(key) { return native.del(this.#h, keyArg(key)); }

  incr(key, delta) {
    return native.incr(this.#h, keyArg(key), deltaArg(delta));
  }

  decr(key, delta) {
    const d = deltaArg(delta);
    return native.incr(this.#h, keyArg(key), -d);
  }

  cas(key, expected, value) {
    const e = expected === undefined || expected === null ? null : this.#codec.item(expected);
    const v = value === undefined || value === null ? null : this.#codec.item(value);
    return native.cas(this.#h, keyArg(key), e, v);
  }

  expire(key, ms) { return native.expire(this.#h, keyArg(key), msArg(ms, 'ttl')); }

  ttl(key) { return native.ttl(this.#h, keyArg(key)); }

  persist(key) { return native.persist(this.#h, keyArg(key)); }

  getMany(keys) {
    const out = native.getMany(this.#h, keyList(keys));
    return this.#decodeMany(out);
  }

  putMany(entries) {
    const [keys, values] = splitEntries(entries, this.#codec);
    native.putMany(this.#h, keys, values);
  }

  stats() { return native.stats(this.#h); }
  sync() { native.sync(this.#h); }
  checkpoint() { native.checkpoint(this.#h); }
  compact() { native.compact(this.#h); }
  backup(dest) { native.backup(this.#h, pathArg(dest, 'backup path')); }
  check() { return native.check(this.#h); }
  dump(file) { native.dump(this.#h, pathArg(file, 'dump path')); }
  load(file) { native.load(this.#h, pathArg(file, 'dump path')); }

  /** Close the database; later calls throw CELLAR_ECLOSED. Closing twice is a no-op. */
  close() { native.close(this.#h); }

  // ---- async twins ----

  getAsync(key) {
    return this.#async(() => native.getAsync(this.#h, keyItem(key)))
      .then((b) => (b === undefined ? undefined : this.#codec.fromBuffer(b)));
  }

  hasAsync(key) { return this.#async(() => native.hasAsync(this.#h, keyItem(key))); }

  putAsync(key, value, options) {
    return this.#async(() => native.putAsync(this.#h, keyItem(key), this.#codec.item(value),
      ttlArg(options)));
  }

  deleteAsync(key) { return this.#async(() => native.delAsync(this.#h, keyItem(key))); }

  getManyAsync(keys) {
    return this.#async(() => native.getManyAsync(this.#h, keyList(keys)))
      .then((out) => this.#decodeMany(out));
  }

  putManyAsync(entries) {
    return this.#async(() => {
      const [keys, values] = splitEntries(entries, this.#codec);
      return native.putManyAsync(this.#h, keys, values);
    });
  }

  syncAsync() { return this.#async(() => native.syncAsync(this.#h)); }
  checkpointAsync() { return this.#async(() => native.checkpointAsync(this.#h)); }
  compactAsync() { return this.#async(() => native.compactAsync(this.#h)); }
  backupAsync(dest) {
    return this.#async(() => native.backupAsync(this.#h, pathArg(dest, 'backup path')));
  }
  checkAsync() { return this.#async(() => native.checkAsync(this.#h)); }

  // ---- transactions ----

  /** Begin a transaction by hand (commit() or abort() it). */
  begin(options) {
    if (options !== undefined && options !== null && typeof options !== 'object') {
      throw typeError(`options must be an object (got ${describe(options)})`);
    }
    const readOnly = !!(options && options.readOnly);
    return new Transaction(this.#h, native.txnBegin(this.#h, readOnly), this.#codec);
  }

  transaction(fn, options) { return runTransaction(this, fn, options); }

  transactionAsync(fn, options) { return runTransactionAsync(this, fn, options); }

  // ---- iteration (streams in batches; constant memory) ----

  keys() { return this.#iterate(ITER_KEYS); }
  values() { return this.#iterate(ITER_VALUES); }
  entries() { return this.#iterate(ITER_BOTH); }
  [Symbol.iterator]() { return this.#iterate(ITER_BOTH); }

  forEach(fn, thisArg) {
    if (typeof fn !== 'function') throw typeError('forEach expects a function');
    for (const [k, v] of this.#iterate(ITER_BOTH)) fn.call(thisArg, v, k, this);
  }

  get [Symbol.toStringTag]() { return 'CellarDatabase'; }

  * #iterate(what) {
    const it = native.iterOpen(this.#h);
    const kc = this.#keyCodec;
    const vc = this.#codec;
    try {
      for (;;) {
        const r = native.iterNext(it, what);
        if (r === 0) return;
        if (typeof r !== 'number') {
          const k = r[0] === undefined ? undefined : kc.fromBuffer(r[0]);
          const v = r[1] === undefined ? undefined : vc.fromBuffer(r[1]);
          yield what === ITER_BOTH ? [k, v] : what === ITER_KEYS ? k : v;
          continue;
        }
        // Decode the whole batch first: the loop body may call the db,
        // which reuses VALUE_BUF.
        const batch = new Array(r);
        let off = 0;
        for (let i = 0; i < r; i++) {
          const kl = VALUE_BUF.readUInt32LE(off);
          const vl = VALUE_BUF.readUInt32LE(off + 4);
          const ks = off + 8;
          const vs = ks + kl;
          if (what === ITER_BOTH) batch[i] = [kc.fromScratch(ks, vs), vc.fromScratch(vs, vs + vl)];
          else if (what === ITER_KEYS) batch[i] = kc.fromScratch(ks, vs);
          else batch[i] = vc.fromScratch(vs, vs + vl);
          off = vs + vl;
        }
        yield* batch;
      }
    } finally {
      native.iterClose(it);
    }
  }

  #decodeMany(out) {
    const c = this.#codec;
    for (let i = 0; i < out.length; i++) {
      if (out[i] !== undefined) out[i] = c.fromBuffer(out[i]);
    }
    return out;
  }

  // Argument errors of an async call reject its promise instead of throwing.
  #async(start) {
    try {
      return start();
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

module.exports = { Database };
