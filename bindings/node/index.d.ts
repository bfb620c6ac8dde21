// Type definitions for cellardb (Node.js binding).
//
// Keys are byte strings: pass a string (stored as UTF-8) or bytes. Values are
// typed by the `encoding` option: 'buffer' (default) -> Buffer, 'utf8' ->
// string, 'json' -> any JSON value. Iteration returns keys as strings
// (keyEncoding 'utf8', default) or Buffers (keyEncoding 'buffer').

/// <reference types="node" />

export type Key = string | Buffer | Uint8Array | ArrayBufferView | ArrayBuffer;
export type Encoding = 'buffer' | 'utf8' | 'json';
export type KeyEncoding = 'utf8' | 'buffer';

/** The JS type of values read under each encoding. */
export interface ValueTypes {
  buffer: Buffer;
  utf8: string;
  json: any;
}
/** The JS types accepted as values under each encoding. */
export interface InputTypes {
  buffer: Buffer | Uint8Array | ArrayBufferView | ArrayBuffer | string;
  utf8: string | Buffer | Uint8Array;
  json: any;
}
export interface KeyTypes {
  utf8: string;
  buffer: Buffer;
}

export interface OpenOptions<E extends Encoding = Encoding, KE extends KeyEncoding = KeyEncoding> {
  /** dbm-style: 'r' read-only, 'w' read-write (must exist), 'c' create if missing (default), 'n' always start empty. */
  flag?: 'r' | 'w' | 'c' | 'n';
  /** Page cache budget in bytes, a hard bound (0 or omitted: automatic, 64 MiB growing with the data up to a quarter of memory). */
  cacheSize?: number;
  /** Durability: 'normal' (default), 'full' (fsync per commit, group commit), 'off'. */
  sync?: 'normal' | 'full' | 'off';
  /** Page size at creation: a power of two from 4096 to 65536. */
  pageSize?: number;
  /** Wait this many ms for another process's lock (0: fail at once with CELLAR_ELOCKED). */
  lockTimeout?: number;
  /** File mode bits at creation, 1 to 0o7777 (umask applies); default 0o666. */
  mode?: number;
  /** How values are read and written (default 'buffer'). */
  encoding?: E;
  /** How iteration hands keys back (default 'utf8'). */
  keyEncoding?: KE;
  /**
   * Test hook: a fake TTL clock. Element 0 holds "now" in ms since the epoch;
   * move time by writing to it. Must outlive the database handle.
   */
  clock?: Float64Array;
}

export interface PutOptions {
  /** Time to live in milliseconds (0 or omitted: no TTL). */
  ttl?: number;
}

export interface TransactionOptions {
  /** Run the function again this many times on CELLAR_ECONFLICT (default 0). */
  retries?: number;
  /** A read-only transaction (no writes; never conflicts on commit). */
  readOnly?: boolean;
}

export interface Stats {
  records: number;
  fileSize: number;
  pageSize: number;
  pages: number;
  bucketPages: number;
  overflowPages: number;
  valuePages: number;
  directoryPages: number;
  freePages: number;
  globalDepth: number;
  fillFactor: number;
  cacheCapacity: number;
  cacheUsed: number;
  cacheHits: number;
  cacheMisses: number;
  walSize: number;
  commits: number;
  checkpoints: number;
}

export interface CheckProblem {
  /** Page number (0 when the problem is not tied to one page). */
  page: number;
  message: string;
}

export interface CheckResult {
  /** True when no problem was found. */
  ok: boolean;
  /** Number of problems (the list keeps at most the first 1000). */
  count: number;
  problems: CheckProblem[];
}

/** Symbolic names of the core's error codes, as found in CellarError#code. */
export type ErrorCode =
  | 'CELLAR_ENOTFOUND' | 'CELLAR_EINVAL' | 'CELLAR_ETOOBIG' | 'CELLAR_ENOMEM'
  | 'CELLAR_EIO' | 'CELLAR_ENOSPC' | 'CELLAR_ECORRUPT' | 'CELLAR_ELOCKED'
  | 'CELLAR_EREADONLY' | 'CELLAR_ECONFLICT' | 'CELLAR_ECLOSED' | 'CELLAR_ENAN'
  | 'CELLAR_EVERSION' | 'CELLAR_ENOTDB' | 'CELLAR_EMISMATCH' | 'CELLAR_EOVERFLOW'
  | 'CELLAR_EFORK' | 'CELLAR_ENOENT' | 'CELLAR_EACCES' | 'CELLAR_EBUSY'
  | 'CELLAR_ECANCELED' | 'CELLAR_EINTERNAL';

/** Every failure reported by the cellardb core. */
export class CellarError extends Error {
  constructor(message: string, code: string, errno?: number);
  /** e.g. 'CELLAR_ELOCKED' */
  readonly code: ErrorCode;
  /** errno of the failing system call, or 0. */
  readonly errno: number;
}

/** A transaction: reads see its own writes; commit applies them all or none. */
export class Transaction<V = Buffer, I = InputTypes['buffer']> {
  private constructor();
  /** True until commit() or abort(). */
  readonly isOpen: boolean;
  get(key: Key): V | undefined;
  has(key: Key): boolean;
  put(key: Key, value: I, options?: PutOptions): void;
  /** Returns whether the key existed (as the transaction sees it). */
  delete(key: Key): boolean;
  /** Read on the libuv thread pool. */
  getAsync(key: Key): Promise<V | undefined>;
  /** Throws CellarError CELLAR_ECONFLICT when a key it read was changed meanwhile. */
  commit(): void;
  /** Commit on the libuv thread pool. */
  commitAsync(): Promise<void>;
  /** Drop the writes; a no-op once committed or aborted. */
  abort(): void;
}

export class Database<V = Buffer, I = InputTypes['buffer'], K = string>
  implements Iterable<[K, V]> {
  constructor(path: string | URL | Buffer, options?: OpenOptions);

  readonly path: string;
  readonly encoding: Encoding;
  readonly keyEncoding: KeyEncoding;
  readonly readOnly: boolean;
  /** False after close(). */
  readonly isOpen: boolean;
  /** Number of (unexpired) records. */
  readonly size: number;

  /** The value, or undefined when the key is absent or expired. */
  get(key: Key): V | undefined;
  has(key: Key): boolean;
  /** Store (replacing any value and TTL). */
  put(key: Key, value: I, options?: PutOptions): void;
  /** Returns whether the key existed. */
  delete(key: Key): boolean;
  /** Add delta (default 1) to the decimal integer stored under key (absent = 0); returns the new value. */
  incr(key: Key, delta?: number | bigint): number | bigint;
  /** incr with -delta. */
  decr(key: Key, delta?: number | bigint): number | bigint;
  /**
   * Compare and swap: if the value equals `expected` (null/undefined: the key
   * is absent), store `value` (null/undefined: delete). Returns whether it swapped.
   */
  cas(key: Key, expected: I | null | undefined, value: I | null | undefined): boolean;
  /** Give an existing key a TTL of ms from now; false if the key is absent. */
  expire(key: Key, ms: number): boolean;
  /** Remaining TTL in ms, -1 without TTL, undefined when absent. */
  ttl(key: Key): number | undefined;
  /** Remove the TTL; false if the key is absent. */
  persist(key: Key): boolean;
  getMany(keys: readonly Key[]): Array<V | undefined>;
  /** Store all pairs as one transaction. */
  putMany(entries: Iterable<readonly [Key, I]> | Map<Key, I> | Record<string, I>): void;

  stats(): Stats;
  /** Make every commit so far durable. */
  sync(): void;
  /** Write dirty pages to the file and reset the log. */
  checkpoint(): void;
  /** Rebuild the file without free space. */
  compact(): void;
  /** Write a consistent copy to dest while others go on reading and writing. */
  backup(dest: string | URL | Buffer): void;
  /** Verify every page and structure; never throws for corruption. */
  check(): CheckResult;
  /** Write every record to a portable text dump ('-' = stdout). */
  dump(file: string | URL | Buffer): void;
  /** Store the records of a dump made by dump(). */
  load(file: string | URL | Buffer): void;
  /** Close; later calls throw CELLAR_ECLOSED. Closing twice is a no-op. */
  close(): void;

  getAsync(key: Key): Promise<V | undefined>;
  hasAsync(key: Key): Promise<boolean>;
  putAsync(key: Key, value: I, options?: PutOptions): Promise<void>;
  deleteAsync(key: Key): Promise<boolean>;
  getManyAsync(keys: readonly Key[]): Promise<Array<V | undefined>>;
  putManyAsync(entries: Iterable<readonly [Key, I]> | Map<Key, I> | Record<string, I>): Promise<void>;
  syncAsync(): Promise<void>;
  checkpointAsync(): Promise<void>;
  compactAsync(): Promise<void>;
  backupAsync(dest: string | URL | Buffer): Promise<void>;
  checkAsync(): Promise<CheckResult>;

  /** Begin a transaction by hand: commit() or abort() it. */
  begin(options?: { readOnly?: boolean }): Transaction<V, I>;
  /** Run fn in a transaction: commit when it returns, abort (and rethrow) when it throws. */
  transaction<R>(fn: (tx: Transaction<V, I>) => R, options?: TransactionOptions): R;
  /** As transaction, but fn may await; the commit runs on the thread pool. */
  transactionAsync<R>(fn: (tx: Transaction<V, I>) => Promise<R> | R,
    options?: TransactionOptions): Promise<R>;

  /** Keys, streamed in constant memory (hash order). */
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  entries(): IterableIterator<[K, V]>;
  [Symbol.iterator](): IterableIterator<[K, V]>;
  forEach(fn: (value: V, key: K, db: this) => void, thisArg?: unknown): void;
}

type ValueOf<E> = E extends Encoding ? ValueTypes[E] : Buffer;
type InputOf<E> = E extends Encoding ? InputTypes[E] : InputTypes['buffer'];
type KeyOf<KE> = KE extends KeyEncoding ? KeyTypes[KE] : string;

/** Open (or create) a database; the log lives beside it at `${path}-wal`. */
export function open<E extends Encoding = 'buffer', KE extends KeyEncoding = 'utf8'>(
  path: string | URL | Buffer,
  options?: OpenOptions<E, KE>,
): Database<ValueOf<E>, InputOf<E>, KeyOf<KE>>;

/** Copy every readable record of a (possibly corrupt) file into a new database; returns the count. */
export function salvage(src: string, dest: string): number;

/** Error code values by name (CELLAR_ENOTFOUND: -1, ...). */
export const codes: Readonly<Record<'CELLAR_OK' | ErrorCode, number>>;
/** Version of the linked cellardb core. */
export const version: string;
export const MAX_KEY_SIZE: number;
export const MAX_VALUE_SIZE: number;
