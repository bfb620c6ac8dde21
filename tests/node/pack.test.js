'use strict';
// The packed tarball (`npm pack`, which bundles the core sources through the
// prepack script) installs into a fresh project elsewhere on disk, builds its
// addon there, and works from require() and import.
//
// Needs npm and the registry (or npm's cache) for the node-api-headers
// dependency; skipped when npm is missing. CELLAR_SKIP_PACK_TEST=1 skips it.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { pkgDir, tmpdir } = require('./helpers');

const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' });
const skip = process.env.CELLAR_SKIP_PACK_TEST ? 'CELLAR_SKIP_PACK_TEST is set'
  : npm.status !== 0 ? 'npm not found' : false;

function run(cmd, args, cwd, extraEnv = {}) {
  const r = spawnSync(cmd, args, {
    cwd, encoding: 'utf8', env: { ...process.env, ...extraEnv }, timeout: 540000,
  });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('npm pack tarball installs and builds in a fresh project', { skip, timeout: 600000 }, () => {
  const work = tmpdir('cellardb-pack-');
  const out = run('npm', ['pack', '--json', '--pack-destination', work], pkgDir);
  const info = JSON.parse(out.slice(out.indexOf('[')));
  const files = info[0].files.map((f) => f.path);
  for (const need of ['index.js', 'index.mjs', 'index.d.ts', 'scripts/build.js', 'src/addon.c',
    'core/include/cellardb.h']) {
    assert.ok(files.includes(need), `tarball lacks ${need}`);
  }
  assert.ok(files.some((f) => /^core\/src\/db\/.+\.c$/.test(f)), 'tarball lacks the core sources');
  assert.ok(!files.some((f) => f.startsWith('build/') || f.startsWith('node_modules/')),
    'tarball carries build output');
  assert.ok(!fs.existsSync(path.join(pkgDir, 'core')), 'postpack removed the copied core');
  const tarball = path.join(work, info[0].filename);

  const project = path.join(work, 'app');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], project,
    { CELLAR_NODE_JOBS: '2' });
  assert.ok(fs.existsSync(path.join(project, 'node_modules', 'cellardb', 'build', 'Release',
    'cellardb.node')), 'the install script built the addon');

  const cjs = run(process.execPath, ['-e', `
    const { open } = require('cellardb');
    const db = open('db.cellar', { encoding: 'json' });
    db.put('k', { ok: true });
    console.log(JSON.stringify(db.get('k')));
    db.close();`], project);
  assert.equal(cjs.trim(), '{"ok":true}');
  const esm = run(process.execPath, ['--input-type=module', '-e', `
    import { open } from 'cellardb';
    const db = open('db.cellar', { encoding: 'json' });
    console.log(JSON.stringify(db.get('k')));
    db.close();`], project);
  assert.equal(esm.trim(), '{"ok":true}');
});
