// ES module entry: the same objects as the CommonJS entry.
import cellardb from './index.js';

export const {
  open, salvage, Database, Transaction, CellarError, codes, version,
  MAX_KEY_SIZE, MAX_VALUE_SIZE,
} = cellardb;
export default cellardb;
