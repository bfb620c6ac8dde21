// Typed usage of the cellardb Node API, checked with `tsc --noEmit` by
// tests/node/types.test.js. Every method of index.d.ts appears here; the
// expect-error directives below check that wrong uses are rejected.
import {
  open, salvage, Database, Transaction, CellarError, codes, version,
  MAX_KEY_SIZE, MAX_VALUE_SIZE, Stats, CheckResult, OpenOptions, ErrorCode,
} from '../../../bindings/node';

async function main(): Promise<void> {
  const opts: OpenOptions = { flag: 'c', cacheSize: 1 << 20, sync: 'full', pageSize: 4096,
    lockTimeout: 100, mode: 0o644, clock: new Float64Array([Date.now()]) };
  const raw = open('/tmp/x.cellar', opts);
  const b: Buffer | undefined = raw.get('k');
  raw.put('k', Buffer.from('v'));
  raw.put(Buffer.from('k'), new Uint8Array([1]), { ttl: 1000 });
  raw.put('k', 'strings are fine for buffer values');

  const db = open('/tmp/y.cellar', { encoding: 'utf8' });
  const s: string | undefined = db.get('k');
  db.put('k', 'v');
  // @ts-expect-error: a utf8 db reads strings, not Buffers
  const wrong: Buffer | undefined = db.get('k');
  // @ts-expect-error: keys are strings or bytes
  db.get(42);
  // @ts-expect-error: ttl is a number
  db.put('k', 'v', { ttl: '1s' });
  // @ts-expect-error: unknown flag
  open('/tmp/z', { flag: 'x' });
  // @ts-expect-error: unknown encoding
  open('/tmp/z', { encoding: 'latin1' });

  const existed: boolean = db.delete('k');
  const has: boolean = db.has('k');
  const n: number | bigint = db.incr('n');
  const m: number | bigint = db.decr('n', 2n);
  const swapped: boolean = db.cas('k', null, 'v') && db.cas('k', 'v', undefined);
  const expired: boolean = db.expire('k', 10);
  const left: number | undefined = db.ttl('k');
  const persisted: boolean = db.persist('k');
  const many: Array<string | undefined> = db.getMany(['a', Buffer.from('b')]);
  db.putMany([['a', '1'], ['b', '2']]);
  db.putMany(new Map([['c', '3']]));
  db.putMany({ d: '4' });
  const st: Stats = db.stats();
  const records: number = st.records;
  db.sync();
  db.checkpoint();
  db.compact();
  db.backup('/tmp/copy');
  const chk: CheckResult = db.check();
  const firstPage: number | undefined = chk.problems[0]?.page;
  db.dump('/tmp/dump');
  db.load('/tmp/dump');
  const size: number = db.size;
  const p: string = db.path;
  const open_: boolean = db.isOpen && !db.readOnly;
  for (const k of db.keys()) { const ks: string = k; }
  for (const v of db.values()) { const vs: string = v; }
  for (const [k, v] of db.entries()) { const pair: [string, string] = [k, v]; }
  for (const [k, v] of db) { const pair: [string, string] = [k, v]; }
  db.forEach((v: string, k: string) => undefined);
  const asMap = new Map(db);

  const ga: string | undefined = await db.getAsync('k');
  const ha: boolean = await db.hasAsync('k');
  await db.putAsync('k', 'v', { ttl: 5 });
  const da: boolean = await db.deleteAsync('k');
  const gm: Array<string | undefined> = await db.getManyAsync(['a']);
  await db.putManyAsync([['a', '1']]);
  await db.syncAsync();
  await db.checkpointAsync();
  await db.compactAsync();
  await db.backupAsync('/tmp/copy2');
  const ca: CheckResult = await db.checkAsync();

  const r: number = db.transaction((tx) => {
    const v: string | undefined = tx.get('a');
    tx.put('a', 'b', { ttl: 1 });
    const d: boolean = tx.delete('c');
    const h: boolean = tx.has('a');
    return 1;
  }, { retries: 3 });
  const ra: string = await db.transactionAsync(async (tx) => {
    const v = await tx.getAsync('a');
    return v ?? '';
  }, { readOnly: true });
  const tx: Transaction<string, string | Buffer | Uint8Array> = db.begin();
  tx.put('x', 'y');
  const alive: boolean = tx.isOpen;
  tx.commit();
  const tx2 = db.begin({ readOnly: true });
  await tx2.commitAsync();
  db.begin().abort();

  const js = open('/tmp/j', { encoding: 'json', keyEncoding: 'buffer' });
  js.put('doc', { any: ['json', 1] });
  const doc: any = js.get('doc');
  for (const k of js.keys()) { const kb: Buffer = k; }

  try {
    db.get('x');
  } catch (err) {
    if (err instanceof CellarError) {
      const code: ErrorCode = err.code;
      const errno: number = err.errno;
    }
  }
  const codeValue: number = codes.CELLAR_ELOCKED;
  const ver: string = version;
  const limits: number = MAX_KEY_SIZE + MAX_VALUE_SIZE;
  const copied: number = salvage('/tmp/a', '/tmp/b');
  const viaClass: Database = new Database('/tmp/c');
  db.close();
}

void main;
