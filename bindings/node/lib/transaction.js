'use strict';
// Transactions. Writes are buffered in the transaction (its reads see them)
// and applied all at once by commit; abort drops them. Conflicts are found at
// commit (CELLAR_ECONFLICT) when a key the transaction read was changed by
// another commit meanwhile.
//
// db.transaction(fn, { retries, readOnly }) runs fn(tx), commits when it
// returns and aborts (rethrowing) when it throws; on a conflict it runs fn
// again, up to `retries` more times. fn must be synchronous: a returned
// promise is refused (use transactionAsync, whose fn may await).

const { native } = require('./native');
const { keyArg, keyItem, describe } = require('./codec');
const { typeError, rangeError } = require('./errors');

class Transaction {
  #h;
  #t;
  #codec;
  #done = false;

  /** @internal: made by Database#begin. */
  constructor(h, t, codec) {
    this.#h = h;
    this.#t = t;
    this.#codec = codec;
  }

  /** True until commit() or abort(). */
  get isOpen() { return !this.#done; }

  get(key) {
    const r = native.txnGet(this.#t, keyArg(key));
    return r === undefined ? undefined : this.#codec.fromNative(r);
  }

  has(key) { return native.txnHas(this.#t, keyArg(key)); }

  put(key, value, options) {
    let ttl;
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object') throw typeError(`options must be an object (got ${describe(options)})`);
      ttl = options.ttl;
      if (ttl !== undefined && ttl !== null) {
        if (typeof ttl !== 'number') throw typeError(`ttl must be a number of milliseconds (got ${describe(ttl)})`);
        if (!(ttl >= 0) || !Number.isFinite(ttl)) throw rangeError(`ttl must be >= 0 and finite (got ${ttl})`);
        ttl = Math.floor(ttl);
      } else {
        ttl = undefined;
      }
    }
    const v = this.#codec.arg(value); // may run user code (toJSON): before KEY_BUF
    native.txnPut(this.#t, keyArg(key), v, ttl);
  }

  delete(key) { return native.txnDel(this.#t, keyArg(key)); }

  /** Read on the thread pool. */
  getAsync(key) {
    let p;
    try {
      p = native.txnGetAsync(this.#h, this.#t, keyItem(key));
    } catch (err) {
      return Promise.reject(err);
    }
    return p.then((b) => (b === undefined ? undefined : this.#codec.fromBuffer(b)));
  }

  commit() {
    try {
      native.txnCommit(this.#t);
    } catch (err) {
      // Refused while an async call of this transaction runs: it stays open.
      if (!(err && err.code === 'CELLAR_EBUSY')) this.#done = true;
      throw err;
    }
    this.#done = true;
  }

  /** Commit on the thread pool (the log append and any fsync happen there). */
  commitAsync() {
    let p;
    try {
      p = native.txnCommitAsync(this.#h, this.#t);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#done = true;
    return p;
  }

  /** Drop the writes. A no-op once committed or aborted. */
  abort() {
    native.txnAbort(this.#t); // throws CELLAR_EBUSY (and stays open) during an async call
    this.#done = true;
  }

  get [Symbol.toStringTag]() { return 'CellarTransaction'; }
}

function txnOptions(options) {
  if (options === undefined || options === null) return { retries: 0, readOnly: false };
  if (typeof options !== 'object') throw typeError(`options must be an object (got ${describe(options)})`);
  const retries = options.retries === undefined ? 0 : options.retries;
  if (typeof retries !== 'number') throw typeError(`retries must be a number (got ${describe(retries)})`);
  if (!Number.isInteger(retries) || retries < 0) {
    throw rangeError(`retries must be an integer >= 0 (got ${String(retries)})`);
  }
  return { retries, readOnly: !!options.readOnly };
}

function isConflict(err) {
  return err !== null && typeof err === 'object' && err.code === 'CELLAR_ECONFLICT';
}

function runTransaction(db, fn, options) {
  if (typeof fn !== 'function') throw typeError(`transaction expects a function (got ${describe(fn)})`);
  const opts = txnOptions(options);
  for (let attempt = 0; ; attempt++) {
    const tx = db.begin(opts);
    try {
      const result = fn(tx);
      if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
        // Leave no unhandled rejection behind: the work is dropped anyway.
        result.then(undefined, () => {});
        throw typeError('the transaction function returned a promise: use transactionAsync()');
      }
      if (tx.isOpen) tx.commit();
      return result;
    } catch (err) {
      if (tx.isOpen) tx.abort();
      if (isConflict(err) && attempt < opts.retries) continue;
      throw err;
    }
  }
}

async function runTransactionAsync(db, fn, options) {
  if (typeof fn !== 'function') throw typeError(`transactionAsync expects a function (got ${describe(fn)})`);
  const opts = txnOptions(options);
  for (let attempt = 0; ; attempt++) {
    const tx = db.begin(opts);
    try {
      const result = await fn(tx);
      if (tx.isOpen) await tx.commitAsync();
      return result;
    } catch (err) {
      if (tx.isOpen) {
        try { tx.abort(); } catch { /* busy with a pending async read: the finalizer frees it */ }
      }
      if (isConflict(err) && attempt < opts.retries) continue;
      throw err;
    }
  }
}

module.exports = { Transaction, runTransaction, runTransactionAsync };
