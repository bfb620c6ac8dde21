'use strict';
// Encodings of keys and values, and the argument shapes the addon accepts.
//
// Keys are always bytes in the file. A key argument may be a string (stored
// as UTF-8) or a Buffer / Uint8Array / other ArrayBufferView. Keys handed back
// by iteration are strings (keyEncoding 'utf8', the default) or Buffers
// (keyEncoding 'buffer').
//
// Values: encoding 'buffer' (default) returns Buffers and stores Buffers,
// typed arrays or strings (as UTF-8); 'utf8' returns strings; 'json' stores
// JSON.stringify(value) and returns JSON.parse(text).
//
// Native results of get: undefined (absent), a number n (the value sits in
// VALUE_BUF[0..n)), or a Buffer of its own.

const { KEY_BUF, KEY_FAST_CHARS, VALUE_BUF, VALUE_FAST_CHARS } = require('./native');
const { typeError, valueError } = require('./errors');

function isBytes(v) {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
}

// Key argument for the addon: a length in KEY_BUF, a long string, or bytes.
function keyArg(key) {
  if (typeof key === 'string') {
    return key.length <= KEY_FAST_CHARS ? KEY_BUF.utf8Write(key, 0) : key;
  }
  if (isBytes(key)) return key;
  throw typeError(`key must be a string, Buffer or Uint8Array (got ${describe(key)})`);
}

// Key for the batch calls (no scratch buffer: many keys at once).
function keyItem(key) {
  if (typeof key === 'string' || isBytes(key)) return key;
  throw typeError(`key must be a string, Buffer or Uint8Array (got ${describe(key)})`);
}

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? `an instance of ${v.constructor ? v.constructor.name : 'Object'}`
    : `type ${typeof v}`;
}

function copyOut(n) {
  const b = Buffer.allocUnsafe(n);
  VALUE_BUF.copy(b, 0, 0, n);
  return b;
}

function stringArg(s) {
  return s.length <= VALUE_FAST_CHARS ? VALUE_BUF.utf8Write(s, 0) : s;
}

const valueCodecs = {
  buffer: {
    name: 'buffer',
    arg(v) {
      if (isBytes(v)) return v;
      if (typeof v === 'string') return stringArg(v);
      throw typeError(`value must be a Buffer, Uint8Array or string (got ${describe(v)})`);
    },
    item(v) {
      if (isBytes(v) || typeof v === 'string') return v;
      throw typeError(`value must be a Buffer, Uint8Array or string (got ${describe(v)})`);
    },
    fromNative(r) { return typeof r === 'number' ? copyOut(r) : r; },
    fromBuffer(b) { return b; },
    fromScratch(start, end) { return copyOutRange(start, end); },
  },
  utf8: {
    name: 'utf8',
    arg(v) {
      if (typeof v === 'string') return stringArg(v);
      if (isBytes(v)) return v;
      throw typeError(`value must be a string or Buffer (got ${describe(v)})`);
    },
    item(v) {
      if (typeof v === 'string' || isBytes(v)) return v;
      throw typeError(`value must be a string or Buffer (got ${describe(v)})`);
    },
    fromNative(r) { return typeof r === 'number' ? VALUE_BUF.utf8Slice(0, r) : r.toString('utf8'); },
    fromBuffer(b) { return b.toString('utf8'); },
    fromScratch(start, end) { return VALUE_BUF.utf8Slice(start, end); },
  },
  json: {
    name: 'json',
    arg(v) { return stringArg(jsonText(v)); },
    item(v) { return jsonText(v); },
    fromNative(r) {
      return JSON.parse(typeof r === 'number' ? VALUE_BUF.utf8Slice(0, r) : r.toString('utf8'));
    },
    fromBuffer(b) { return JSON.parse(b.toString('utf8')); },
    fromScratch(start, end) { return JSON.parse(VALUE_BUF.utf8Slice(start, end)); },
  },
};

function jsonText(v) {
  const text = JSON.stringify(v);
  if (typeof text !== 'string') {
    throw typeError(`value cannot be stored as JSON (got ${describe(v)})`);
  }
  return text;
}

function copyOutRange(start, end) {
  const b = Buffer.allocUnsafe(end - start);
  VALUE_BUF.copy(b, 0, start, end);
  return b;
}

const keyCodecs = {
  utf8: {
    name: 'utf8',
    fromBuffer(b) { return b.toString('utf8'); },
    fromScratch(start, end) { return VALUE_BUF.utf8Slice(start, end); },
  },
  buffer: {
    name: 'buffer',
    fromBuffer(b) { return b; },
    fromScratch(start, end) { return copyOutRange(start, end); },
  },
};

function valueCodec(name) {
  const c = valueCodecs[name === undefined ? 'buffer' : name];
  if (!c || !Object.prototype.hasOwnProperty.call(valueCodecs, name === undefined ? 'buffer' : name)) {
    throw valueError(`encoding must be 'buffer', 'utf8' or 'json' (got ${String(name)})`);
  }
  return c;
}

function keyCodec(name) {
  const n = name === undefined ? 'utf8' : name;
  if (!Object.prototype.hasOwnProperty.call(keyCodecs, n)) {
    throw valueError(`keyEncoding must be 'utf8' or 'buffer' (got ${String(name)})`);
  }
  return keyCodecs[n];
}

module.exports = { keyArg, keyItem, valueCodec, keyCodec, isBytes, describe };
