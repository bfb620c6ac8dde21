'use strict';
// CellarError: every failure reported by the cellardb core. `code` is the
// symbolic name of the core's error code ('CELLAR_ELOCKED', ...), `errno` the
// errno of a failed system call (0 if none). Bad arguments throw as Node's own
// APIs do: TypeError (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE) or
// RangeError (ERR_OUT_OF_RANGE).

class CellarError extends Error {
  constructor(message, code, errno) {
    super(message);
    this.code = code;
    this.errno = errno || 0;
  }
}
Object.defineProperty(CellarError.prototype, 'name', {
  value: 'CellarError', writable: true, configurable: true,
});

function typeError(message) {
  const err = new TypeError(message);
  err.code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

function valueError(message) {
  const err = new TypeError(message);
  err.code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

function rangeError(message) {
  const err = new RangeError(message);
  err.code = 'ERR_OUT_OF_RANGE';
  return err;
}

module.exports = { CellarError, typeError, valueError, rangeError };
