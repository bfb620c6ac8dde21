'use strict';
// The Node.js side of the cross-language interop test (driven by interop.py).
// usage: node worker.js write PLAN DB | read PLAN DB...
// (the plan format is described in interop_c.c; the package is found through
// CELLARDB_NODE_PACKAGE, by default bindings/node of this source tree)
const fs = require('node:fs');
const path = require('node:path');

const pkg = process.env.CELLARDB_NODE_PACKAGE || path.join(__dirname, '..', '..', 'bindings', 'node');
const { open } = require(pkg);

function decode(tok) {
  if (tok[0] === 'p') {
    const n = Number(tok.slice(1));
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = i % 251;
    return b;
  }
  return Buffer.from(tok.slice(1), 'hex');
}

function readPlan(file) {
  const ops = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const t = line.split(' ');
    const op = { kind: t[0], pairs: [], ttl: 0 };
    if (op.kind === 'ttl') {
      op.pairs.push([decode(t[1]), decode(t[2])]);
      op.ttl = Number(t[3]);
    } else {
      for (let i = 1; i < t.length; i += 2) op.pairs.push([decode(t[i]), decode(t[i + 1])]);
    }
    ops.push(op);
  }
  return ops;
}

function write(ops, file) {
  const db = open(file, { flag: 'n', keyEncoding: 'buffer', encoding: 'buffer' });
  for (const op of ops) {
    if (op.kind === 'put') {
      db.put(op.pairs[0][0], op.pairs[0][1]);
    } else if (op.kind === 'ttl') {
      db.put(op.pairs[0][0], op.pairs[0][1], { ttl: op.ttl });
    } else {
      const tx = db.begin();
      for (const [k, v] of op.pairs) tx.put(k, v);
      if (op.kind === 'commit') tx.commit(); else tx.abort();
    }
  }
  db.close();
}

function verify(ops, file) {
  const db = open(file, { flag: 'r', keyEncoding: 'buffer', encoding: 'buffer' });
  try {
    let present = 0;
    for (const op of ops) {
      for (let i = 0; i < op.pairs.length; i++) {
        const [k, v] = op.pairs[i];
        const got = db.get(k);
        if (op.kind === 'abort') {
          if (got !== undefined || db.has(k)) return `key ${i} of the aborted transaction is present`;
          continue;
        }
        if (got === undefined) return `${op.kind} record (${k.length}-byte key) is missing`;
        if (!Buffer.isBuffer(got) || !got.equals(v)) {
          return `${op.kind} record (${k.length}-byte key): ${got.length}-byte value differs (want ${v.length} bytes)`;
        }
        present++;
        if (op.kind === 'ttl') {
          const left = db.ttl(k);
          if (!(left > 0 && left <= op.ttl)) return `ttl of the TTL record is ${left}`;
        }
      }
    }
    if (db.size !== present) return `size ${db.size}, want ${present}`;
    return null;
  } finally {
    db.close();
  }
}

const [mode, plan, ...dbs] = process.argv.slice(2);
if ((mode !== 'write' && mode !== 'read') || dbs.length === 0) {
  process.stderr.write('usage: node worker.js write PLAN DB | read PLAN DB...\n');
  process.exit(2);
}
const ops = readPlan(plan);
if (mode === 'write') {
  write(ops, dbs[0]);
} else {
  let failed = false;
  for (const file of dbs) {
    let why;
    try { why = verify(ops, file); } catch (e) { why = `${e.code || ''} ${e.message}`; }
    if (why) { console.log(`FAIL ${file}: ${why}`); failed = true; } else console.log(`PASS ${file}`);
  }
  process.exitCode = failed ? 1 : 0;
}
