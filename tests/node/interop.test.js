'use strict';
// One file format for every language: a file written from C is read here,
// a file written here is read back from C, and the same with Python when the
// Python binding is importable (else that test is skipped, saying why).
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { cellardb, repoRoot, tmpdir } = require('./helpers');

const cc = process.env.CC || 'cc';
let cTool = null;

function buildCTool() {
  if (cTool) return cTool;
  const dir = tmpdir('cellardb-interop-');
  const core = path.join(repoRoot, 'core');
  const srcs = fs.readdirSync(path.join(core, 'src'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => fs.readdirSync(path.join(core, 'src', d.name))
      .filter((f) => f.endsWith('.c')).map((f) => path.join(core, 'src', d.name, f)));
  const exe = path.join(dir, 'interop');
  const r = spawnSync(cc, ['-O1', '-D_GNU_SOURCE', '-DCELLAR_BUILDING', '-I', path.join(core, 'include'),
    '-I', path.join(core, 'src'), path.join(__dirname, 'fixtures', 'interop.c'), ...srcs,
    '-pthread', '-o', exe], { encoding: 'utf8' });
  assert.equal(r.status, 0, `building the C fixture failed:\n${r.stderr}`);
  cTool = exe;
  return exe;
}

const haveCc = spawnSync(cc, ['--version']).status === 0;

test('a file written from C reads here', { skip: haveCc ? false : `no C compiler (${cc})` }, () => {
  const exe = buildCTool();
  const file = path.join(tmpdir(), 'from-c.cellar');
  const w = spawnSync(exe, ['write', file], { encoding: 'utf8' });
  assert.equal(w.status, 0, w.stderr);
  const db = cellardb.open(file, { flag: 'w' });
  assert.equal(db.get('from-c').toString(), 'hello from C');
  assert.deepEqual(db.get(Buffer.from([0, 1, 2, 255])), Buffer.from([0, 1, 2, 255]));
  assert.deepEqual(db.get('empty'), Buffer.alloc(0));
  assert.equal(db.get('c-999').toString(), `value-${999 * 7}`);
  assert.equal(db.get('counter').toString(), '41');
  assert.equal(db.incr('counter'), 42);
  assert.equal(db.size, 1004);
  db.close();
});

test('a file written here reads from C', { skip: haveCc ? false : `no C compiler (${cc})` }, () => {
  const exe = buildCTool();
  const file = path.join(tmpdir(), 'from-node.cellar');
  const want = new Map();
  const db = cellardb.open(file);
  for (let i = 0; i < 500; i++) {
    const k = Buffer.from(`node-${i}`);
    const v = Buffer.from(`v${'x'.repeat(i)}`);
    db.put(k, v);
    want.set(k.toString('hex'), v.toString('hex'));
  }
  db.put(Buffer.from([0xff, 0]), Buffer.alloc(100000, 0xab));
  want.set('ff00', Buffer.alloc(100000, 0xab).toString('hex'));
  db.transaction((tx) => { tx.put('txn', 'committed'); });
  want.set(Buffer.from('txn').toString('hex'), Buffer.from('committed').toString('hex'));
  db.close();
  const r = spawnSync(exe, ['read', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const got = new Map(r.stdout.trim().split('\n').map((l) => l.split(' ')));
  assert.deepEqual(got, want);
});

function findPython() {
  const py = process.env.PYTHON || 'python3';
  const paths = [process.env.CELLAR_PYTHONPATH, process.env.CELLAR_BUILD_DIR &&
    path.join(process.env.CELLAR_BUILD_DIR, 'bindings', 'python', 'lib'),
  path.join(repoRoot, 'bindings', 'python'), ''].filter((p) => p !== undefined && p !== null);
  for (const p of paths) {
    const env = { ...process.env };
    if (p) env.PYTHONPATH = p + (env.PYTHONPATH ? path.delimiter + env.PYTHONPATH : '');
    const r = spawnSync(py, ['-c', 'import cellardb; cellardb.open'], { env, encoding: 'utf8' });
    if (r.status === 0) return { py, env };
  }
  return null;
}

const python = findPython();

test('a file written from Python reads here, and back', {
  skip: python ? false : 'the Python binding is not importable (build it, or set CELLAR_PYTHONPATH)',
}, () => {
  const file = path.join(tmpdir(), 'from-py.cellar');
  const w = spawnSync(python.py, ['-c', `
import cellardb, sys
db = cellardb.open(sys.argv[1], 'c')
db[b'from-python'] = b'hello from Python'
db['text'] = 'caf\\u00e9'
db[bytes([0, 1, 255])] = bytes(range(256))
for i in range(300):
    db[b'py-%d' % i] = b'%d' % (i * i)
db.close()
`, file], { env: python.env, encoding: 'utf8' });
  assert.equal(w.status, 0, w.stderr);
  const db = cellardb.open(file, { encoding: 'utf8' });
  assert.equal(db.get('from-python'), 'hello from Python');
  assert.equal(db.get('text'), 'café');
  assert.equal(db.get('py-299'), String(299 * 299));
  const raw = cellardb.open(file);
  assert.deepEqual(raw.get(Buffer.from([0, 1, 255])), Buffer.from([...Array(256).keys()]));
  raw.close();
  db.put('from-node', 'hello from Node');
  db.close();
  const r = spawnSync(python.py, ['-c', `
import cellardb, sys
db = cellardb.open(sys.argv[1], 'r')
print(db[b'from-node'].decode(), len(db))
db.close()
`, file], { env: python.env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'hello from Node 304');
});
