'use strict';
// Loads the compiled addon and wires it to the JS layer: the error class and
// the two scratch buffers shared with C (see src/addon.h).
//
// Scratch buffers: the JS thread writes a key into KEY_BUF and passes only its
// length; small values travel through VALUE_BUF both ways, and iterator
// batches come back in it. Only synchronous calls use them, and each call's
// result is decoded before any user code runs, so one pair per thread (each
// worker_thread loads its own copy of this module) is enough.

const path = require('node:path');
const { CellarError } = require('./errors');

function load() {
  const tried = [];
  const candidates = [];
  if (process.env.CELLARDB_NODE_ADDON) candidates.push(process.env.CELLARDB_NODE_ADDON);
  candidates.push(path.join(__dirname, '..', 'build', 'Release', 'cellardb.node'));
  candidates.push(path.join(__dirname, '..', 'build', 'Debug', 'cellardb.node'));
  for (const file of candidates) {
    try {
      return require(file);
    } catch (err) {
      if (err && err.code !== 'MODULE_NOT_FOUND') throw err;
      tried.push(file);
    }
  }
  throw new Error('cellardb: the native addon is not built (tried ' + tried.join(', ') +
    '); run `npm run build` in the cellardb package');
}

const native = load();

// Any string of up to KEY_FAST_CHARS UTF-16 units fits in KEY_BUF as UTF-8
// (at most 3 bytes per unit); longer strings are handed to C as strings.
const KEY_BUF = Buffer.allocUnsafeSlow(256 * 1024);
const KEY_FAST_CHARS = Math.floor(KEY_BUF.length / 3);
const VALUE_BUF = Buffer.allocUnsafeSlow(256 * 1024);
const VALUE_FAST_CHARS = Math.floor(VALUE_BUF.length / 3);

native.setup(CellarError, KEY_BUF, VALUE_BUF);

module.exports = { native, KEY_BUF, KEY_FAST_CHARS, VALUE_BUF, VALUE_FAST_CHARS };
