'use strict';
// cellardb for Node.js: an embedded, crash-safe key-value store.
//
//   const { open } = require('cellardb');
//   const db = open('data.cellar', { encoding: 'utf8' });
//   db.put('hello', 'world');
//   db.get('hello');            // 'world'
//   await db.getAsync('hello');  // on the libuv thread pool
//   db.close();
//
// See index.d.ts for the whole API.

const { native } = require('./lib/native');
const { Database } = require('./lib/database');
const { Transaction } = require('./lib/transaction');
const { CellarError } = require('./lib/errors');

/** Open (or create) a database; options as in index.d.ts. */
function open(path, options) {
  return new Database(path, options);
}

/** Copy every readable record of a (possibly corrupt) file into a new one. */
function salvage(src, dest) {
  if (typeof src !== 'string' || typeof dest !== 'string') {
    const err = new TypeError('salvage(src, dest) expects two path strings');
    err.code = 'ERR_INVALID_ARG_TYPE';
    throw err;
  }
  return native.salvage(src, dest);
}

const codes = Object.freeze(Object.fromEntries(
  Object.entries(native.codes).map(([name, c]) => [name, c.value])));

module.exports = {
  open,
  salvage,
  Database,
  Transaction,
  CellarError,
  codes,
  version: native.version(),
  MAX_KEY_SIZE: native.MAX_KEY_SIZE,
  MAX_VALUE_SIZE: native.MAX_VALUE_SIZE,
};
