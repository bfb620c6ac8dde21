#!/usr/bin/env node
'use strict';
// Micro-benchmark of the cellardb Node binding against a JS Map and the Node
// peers: lmdb (lmdb-js), better-sqlite3 and classic-level. Keys 16 bytes,
// values 100 bytes, one data set, one run side by side; prints ops/s and the
// ratios the issue sets as targets. Timings are printed, never asserted.
//
//   node tests/bench/node_bench.js [N] [--json]     (default N = 200000)
// Environment: CELLAR_BENCH_N (N), CELLAR_BENCH_ROUNDS (read rounds, best kept; 3).
//
// Peers are loaded from tests/bench/node_modules (packaging/deps/node.sh
// --bench installs them); a missing peer is skipped with a note.
//
// Workloads
//   put      autocommit single puts (cellardb put, sqlite INSERT in WAL mode with
//            synchronous=NORMAL, classic-level await put); lmdb: putSync inside
//            transactionSync batches of 1000 (each lmdb commit is durable)
//   put/txn  the same puts in transactions of 1000 (every store; cellardb also
//            with sync=full, which fsyncs each commit as lmdb does)
//   get      random-order reads of present keys (sync; lmdb: get and getBinaryFast)
//   get-async random-order reads through the async API (promises, 64 in flight)
//   iterate  every record once (cellardb entries(), lmdb getRange, sqlite iterate,
//            classic-level iterator)
// Each store runs in a child process of its own (--only NAME).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) || process.env.CELLAR_BENCH_N || 200000);
const asJson = args.includes('--json');
const repoRoot = path.resolve(__dirname, '..', '..');
const cellardb = require(path.join(repoRoot, 'bindings', 'node'));

function peer(name) {
  try {
    return require(require.resolve(name, { paths: [__dirname] }));
  } catch (err) {
    notes.push(`${name}: not installed (packaging/deps/node.sh --bench): ${err.code || err.message}`);
    return null;
  }
}
const notes = [];
const lmdb = peer('lmdb');
const Sqlite = peer('better-sqlite3');
const classicLevel = peer('classic-level');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cellardb-node-bench-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

// Data: 16-byte keys, 100-byte values; reads in a shuffled order.
const keys = new Array(N);
for (let i = 0; i < N; i++) keys[i] = `k${String(i * 2654435761 % 4294967296).padStart(10, '0')}${String(i % 100000).padStart(5, '0')}`;
const value = Buffer.alloc(100, 0x61);
const order = Array.from({ length: N }, (_, i) => i);
let seed = 42;
for (let i = N - 1; i > 0; i--) {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  const j = seed % (i + 1);
  [order[i], order[j]] = [order[j], order[i]];
}
const readKeys = order.map((i) => keys[i]);

const results = [];
function record(workload, store, ops, ns) {
  const opsPerSec = ops / (Number(ns) / 1e9);
  results.push({ workload, store, opsPerSec });
  if (!asJson) process.stderr.write(`  ${workload.padEnd(10)} ${store.padEnd(32)} ${fmt(opsPerSec).padStart(12)} ops/s\n`);
}
function fmt(x) { return Math.round(x).toLocaleString('en-US'); }

// Reads and scans are run ROUNDS times and the best round counts (the first
// one also warms the JIT); writes run once (a second round would measure
// overwrites instead).
const ROUNDS = Number(process.env.CELLAR_BENCH_ROUNDS || 3);
function timeSync(workload, store, fn, ops = N) {
  const rounds = workload.startsWith('put') ? 1 : ROUNDS;
  let bestNs = null;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    const dt = process.hrtime.bigint() - t0;
    if (bestNs === null || dt < bestNs) bestNs = dt;
  }
  record(workload, store, ops, bestNs);
}

async function timeAsync(workload, store, fn, ops = N) {
  const rounds = workload.startsWith('put') ? 1 : ROUNDS;
  let bestNs = null;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    const dt = process.hrtime.bigint() - t0;
    if (bestNs === null || dt < bestNs) bestNs = dt;
  }
  record(workload, store, ops, bestNs);
}

async function inFlight(n, start) {
  let next = 0;
  async function lane() {
    while (next < n) await start(next++);
  }
  await Promise.all(Array.from({ length: 64 }, lane));
}

function verify(store, got) {
  if (got !== N) throw new Error(`${store}: expected ${N} results, got ${got}`);
}

async function benchMap() {
  const m = new Map();
  timeSync('put', 'Map', () => { for (let i = 0; i < N; i++) m.set(keys[i], Buffer.from(value)); });
  timeSync('get', 'Map', () => { let n = 0; for (let i = 0; i < N; i++) if (m.get(readKeys[i])) n++; verify('Map', n); });
  timeSync('iterate', 'Map', () => { let n = 0; for (const e of m) { if (e[1]) n++; } verify('Map', n); });
}

async function benchCellar() {
  const db = cellardb.open(path.join(work, 'cellar.db'), { cacheSize: 256 << 20 });
  timeSync('put', 'cellardb put', () => { for (let i = 0; i < N; i++) db.put(keys[i], value); });
  timeSync('get', 'cellardb get', () => {
    let n = 0;
    for (let i = 0; i < N; i++) if (db.get(readKeys[i]) !== undefined) n++;
    verify('cellardb', n);
  });
  timeSync('iterate', 'cellardb entries()', () => {
    let n = 0;
    for (const [k, v] of db) { if (k && v) n++; }
    verify('cellardb', n);
  });
  await timeAsync('get-async', 'cellardb getAsync', async () => {
    let n = 0;
    await inFlight(N, async (i) => { if (await db.getAsync(readKeys[i]) !== undefined) n++; });
    verify('cellardb async', n);
  });
  db.close();
  const db2 = cellardb.open(path.join(work, 'cellar2.db'), { cacheSize: 256 << 20 });
  timeSync('put/txn', 'cellardb txn of 1000', () => {
    for (let i = 0; i < N; i += 1000) {
      db2.transaction((tx) => { for (let j = i; j < i + 1000 && j < N; j++) tx.put(keys[j], value); });
    }
  });
  db2.close();
  // The same with sync=full: every commit fsynced, as each lmdb commit is.
  const dbf = cellardb.open(path.join(work, 'cellar-full.db'), { cacheSize: 256 << 20, sync: 'full' });
  timeSync('put/txn', 'cellardb txn of 1000, sync=full', () => {
    for (let i = 0; i < N; i += 1000) {
      dbf.transaction((tx) => { for (let j = i; j < i + 1000 && j < N; j++) tx.put(keys[j], value); });
    }
  });
  dbf.close();
  const db3 = cellardb.open(path.join(work, 'cellar3.db'), { cacheSize: 256 << 20 });
  const M = Math.min(N, 50000);
  await timeAsync('put-async', 'cellardb putAsync', async () => {
    await inFlight(M, (i) => db3.putAsync(keys[i], value));
  }, M);
  db3.close();
}

async function benchLmdb() {
  if (!lmdb) return;
  const db = lmdb.open({ path: path.join(work, 'lmdb'), compression: false, encoding: 'binary',
    mapSize: 2 * 1024 * 1024 * 1024 });
  timeSync('put', 'lmdb putSync (txn of 1000)', () => {
    for (let i = 0; i < N; i += 1000) {
      db.transactionSync(() => { for (let j = i; j < i + 1000 && j < N; j++) db.putSync(keys[j], value); });
    }
  });
  timeSync('put/txn', 'lmdb putSync (txn of 1000)', () => {
    for (let i = 0; i < N; i += 1000) {
      db.transactionSync(() => { for (let j = i; j < i + 1000 && j < N; j++) db.putSync(keys[j], value); });
    }
  });
  timeSync('get', 'lmdb get', () => {
    let n = 0;
    for (let i = 0; i < N; i++) if (db.get(readKeys[i]) !== undefined) n++;
    verify('lmdb', n);
  });
  timeSync('get', 'lmdb getBinaryFast', () => {
    let n = 0;
    for (let i = 0; i < N; i++) if (db.getBinaryFast(readKeys[i]) !== undefined) n++;
    verify('lmdb', n);
  });
  timeSync('iterate', 'lmdb getRange', () => {
    let n = 0;
    for (const { key, value: v } of db.getRange()) { if (key && v) n++; }
    verify('lmdb', n);
  });
  await timeAsync('get-async', 'lmdb get (sync, in promises)', async () => {
    let n = 0;
    await inFlight(N, async (i) => { if (db.get(readKeys[i]) !== undefined) n++; });
    verify('lmdb', n);
  });
  await db.close();
}

async function benchSqlite() {
  if (!Sqlite) return;
  const db = new Sqlite(path.join(work, 'sqlite.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID');
  const ins = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
  const sel = db.prepare('SELECT v FROM kv WHERE k = ?').pluck();
  const all = db.prepare('SELECT k, v FROM kv');
  timeSync('put', 'better-sqlite3 autocommit', () => { for (let i = 0; i < N; i++) ins.run(keys[i], value); });
  const batch = db.transaction((from) => { for (let j = from; j < from + 1000 && j < N; j++) ins.run(keys[j], value); });
  timeSync('put/txn', 'better-sqlite3 txn of 1000', () => { for (let i = 0; i < N; i += 1000) batch(i); });
  timeSync('get', 'better-sqlite3 get', () => {
    let n = 0;
    for (let i = 0; i < N; i++) if (sel.get(readKeys[i]) !== undefined) n++;
    verify('sqlite', n);
  });
  timeSync('iterate', 'better-sqlite3 iterate', () => {
    let n = 0;
    for (const row of all.iterate()) { if (row.k && row.v) n++; }
    verify('sqlite', n);
  });
  db.close();
}

async function benchLevel() {
  if (!classicLevel) return;
  const db = new classicLevel.ClassicLevel(path.join(work, 'level'), { valueEncoding: 'buffer' });
  await db.open();
  const M = Math.min(N, 50000);
  await timeAsync('put', 'classic-level await put', async () => {
    for (let i = 0; i < M; i++) await db.put(keys[i], value);
  }, M);
  await timeAsync('put/txn', 'classic-level batch of 1000', async () => {
    for (let i = 0; i < N; i += 1000) {
      const b = db.batch();
      for (let j = i; j < i + 1000 && j < N; j++) b.put(keys[j], value);
      await b.write();
    }
  });
  if (typeof db.getSync === 'function') {
    timeSync('get', 'classic-level getSync', () => {
      let n = 0;
      for (let i = 0; i < N; i++) if (db.getSync(readKeys[i]) !== undefined) n++;
      verify('level', n);
    });
  }
  await timeAsync('get-async', 'classic-level await get', async () => {
    let n = 0;
    await inFlight(N, async (i) => { if (await db.get(readKeys[i]) !== undefined) n++; });
    verify('level', n);
  });
  await timeAsync('iterate', 'classic-level iterator', async () => {
    let n = 0;
    for await (const [k, v] of db.iterator()) { if (k && v) n++; }
    verify('level', n);
  });
  await db.close();
}

function best(workload, store) {
  const r = results.find((x) => x.workload === workload && x.store === store);
  return r ? r.opsPerSec : undefined;
}

function printTable() {
  const workloads = [...new Set(results.map((r) => r.workload))];
  const lines = [];
  lines.push(`cellardb node bench: N=${N}, keys 16 B, values 100 B, node ${process.version}, ` +
    `${os.cpus().length} cpus, load ${os.loadavg()[0].toFixed(2)}`);
  lines.push('');
  lines.push('| workload | store | ops/s |');
  lines.push('|---|---|---:|');
  for (const w of workloads) {
    for (const r of results.filter((x) => x.workload === w)) {
      lines.push(`| ${w} | ${r.store} | ${fmt(r.opsPerSec)} |`);
    }
  }
  const targets = [
    ['sync get vs lmdb getBinaryFast', best('get', 'cellardb get'), best('get', 'lmdb getBinaryFast'), 1.0],
    ['sync get vs lmdb get', best('get', 'cellardb get'), best('get', 'lmdb get'), null],
    ['autocommit put vs lmdb putSync (txn of 1000)', best('put', 'cellardb put'), best('put', 'lmdb putSync (txn of 1000)'), 2.0],
    ['txn of 1000 (both fsync per commit) vs lmdb', best('put/txn', 'cellardb txn of 1000, sync=full'), best('put/txn', 'lmdb putSync (txn of 1000)'), null],
    ['head to head: get vs lmdb getBinaryFast', best('duel get', 'cellardb get'), best('duel get', 'lmdb getBinaryFast'), 1.0],
    ['head to head: iterate vs lmdb getRange', best('duel iterate', 'cellardb entries()'), best('duel iterate', 'lmdb getRange'), 1.0],
    ['iterate vs lmdb getRange', best('iterate', 'cellardb entries()'), best('iterate', 'lmdb getRange'), 1.0],
    ['sync get vs better-sqlite3', best('get', 'cellardb get'), best('get', 'better-sqlite3 get'), null],
    ['autocommit put vs better-sqlite3', best('put', 'cellardb put'), best('put', 'better-sqlite3 autocommit'), null],
    ['sync get vs classic-level getSync', best('get', 'cellardb get'), best('get', 'classic-level getSync'), null],
    ['sync get vs Map', best('get', 'cellardb get'), best('get', 'Map'), null],
  ];
  lines.push('');
  lines.push('| ratio (cellardb / peer) | value | target | met |');
  lines.push('|---|---:|---:|---|');
  for (const [name, a, b, target] of targets) {
    if (a === undefined || b === undefined) continue;
    const ratio = a / b;
    lines.push(`| ${name} | ${ratio.toFixed(2)}x | ${target ? `${target.toFixed(1)}x` : '-'} | ` +
      `${target ? (ratio >= target ? 'yes' : 'no') : ''} |`);
  }
  for (const n of notes) lines.push(`note: ${n}`);
  process.stdout.write(lines.join('\n') + '\n');
}

// Head to head: cellardb get vs lmdb getBinaryFast (and the scans) in one
// process, rounds alternating, best round of each kept: on a shared, noisy
// machine this ratio is steadier than the one of two separate runs.
async function benchDuel() {
  if (!lmdb) return;
  const c = cellardb.open(path.join(work, 'duel.cellar'), { cacheSize: 256 << 20 });
  const l = lmdb.open({ path: path.join(work, 'duel.lmdb'), compression: false, encoding: 'binary',
    mapSize: 2 * 1024 * 1024 * 1024 });
  c.transaction((tx) => { for (let i = 0; i < N; i++) tx.put(keys[i], value); });
  l.transactionSync(() => { for (let i = 0; i < N; i++) l.putSync(keys[i], value); });
  const runs = {
    'duel get: cellardb get': () => { for (let i = 0; i < N; i++) c.get(readKeys[i]); },
    'duel get: lmdb getBinaryFast': () => { for (let i = 0; i < N; i++) l.getBinaryFast(readKeys[i]); },
    'duel iterate: cellardb entries()': () => { for (const e of c) void e; },
    'duel iterate: lmdb getRange': () => { for (const e of l.getRange()) void e; },
  };
  const bestNs = {};
  for (let r = 0; r < 2 * ROUNDS; r++) {
    for (const [name, fn] of Object.entries(runs)) {
      const t0 = process.hrtime.bigint();
      fn();
      const dt = process.hrtime.bigint() - t0;
      if (!(name in bestNs) || dt < bestNs[name]) bestNs[name] = dt;
    }
  }
  for (const [name, ns] of Object.entries(bestNs)) {
    const [workload, store] = name.split(': ');
    record(workload, store, N, ns);
  }
  c.close();
  await l.close();
}

// Each store runs in a process of its own (same data, same order), so no
// store pays for another's heap, caches or background threads.
const STORES = { map: benchMap, cellardb: benchCellar, lmdb: benchLmdb, sqlite: benchSqlite,
  level: benchLevel, duel: benchDuel };

async function main() {
  const onlyAt = args.indexOf('--only');
  if (onlyAt >= 0) {
    await STORES[args[onlyAt + 1]]();
    process.stdout.write(JSON.stringify({ results, notes }) + '\n');
    return;
  }
  if (!asJson) process.stderr.write(`node_bench: N=${N} (work dir ${work})\n`);
  const { spawnSync } = require('node:child_process');
  for (const name of Object.keys(STORES)) {
    const r = spawnSync(process.execPath, [__filename, String(N), '--only', name],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 });
    if (r.status !== 0) {
      notes.push(`${name}: failed (exit ${r.status})`);
      continue;
    }
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    results.push(...out.results);
    for (const n of out.notes) if (!notes.includes(n)) notes.push(n);
  }
  if (asJson) process.stdout.write(JSON.stringify({ N, results, notes }, null, 2) + '\n');
  else printTable();
}

main().catch((err) => {
  process.stderr.write(`node_bench: ${err.stack || err}\n`);
  process.exit(1);
});
