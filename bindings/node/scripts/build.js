#!/usr/bin/env node
'use strict';
// Build build/Release/cellardb.node from the addon (src/*.c) and the cellardb
// core (core/src/*/*.c) with one plain compiler call per file: no node-gyp,
// so no download of Node's headers. Node-API headers come from, in order:
// $CELLAR_NODE_API_HEADERS, the node-api-headers package, the headers of the
// running Node (<prefix>/include/node), /usr/include/node.
//
// The core is taken from the repository when this package sits in it
// (bindings/node of a cellardb checkout), else from ./core (copied in by
// scripts/prepack.js when the tarball was made).
//
//   node scripts/build.js [--debug] [--force] [--jobs N] [--quiet]
// Environment: CC (default cc), CFLAGS (appended), CELLAR_NODE_JOBS,
// CELLAR_CORE_DIR (take the core from this folder instead).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const debug = args.includes('--debug');
const force = args.includes('--force');
const quiet = args.includes('--quiet');
const jobsArg = args.indexOf('--jobs');
const jobs = Math.max(1, Number(jobsArg >= 0 ? args[jobsArg + 1]
  : process.env.CELLAR_NODE_JOBS || Math.min(2, os.cpus().length)) || 1);

function log(msg) {
  if (!quiet) process.stderr.write(`cellardb build: ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`cellardb build: ${msg}\n`);
  process.exit(1);
}

function exists(p) {
  try { fs.accessSync(p); return true; } catch { return false; }
}

function coreDir() {
  if (process.env.CELLAR_CORE_DIR) return path.resolve(process.env.CELLAR_CORE_DIR);
  const repoRoot = path.resolve(pkgDir, '..', '..');
  const inRepo = path.resolve(repoRoot, 'bindings', 'node') === pkgDir &&
    exists(path.join(repoRoot, 'core', 'include', 'cellardb.h'));
  if (inRepo) return path.join(repoRoot, 'core');
  const bundled = path.join(pkgDir, 'core');
  if (exists(path.join(bundled, 'include', 'cellardb.h'))) return bundled;
  fail('cannot find the cellardb core sources (neither ../../core nor ./core)');
}

function napiInclude() {
  const candidates = [];
  if (process.env.CELLAR_NODE_API_HEADERS) candidates.push(process.env.CELLAR_NODE_API_HEADERS);
  try {
    const h = require('node-api-headers');
    if (h && h.include_dir) candidates.push(h.include_dir);
  } catch { /* not installed: fall back to Node's own headers */ }
  candidates.push(path.resolve(path.dirname(process.execPath), '..', 'include', 'node'));
  candidates.push('/usr/include/node', '/usr/local/include/node');
  for (const dir of candidates) {
    if (exists(path.join(dir, 'node_api.h'))) return dir;
  }
  fail('no Node-API headers found: install the node-api-headers package ' +
    'or set CELLAR_NODE_API_HEADERS');
}

function listC(dir) {
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.c'))
    .map((d) => path.join(dir, d.name));
}

function newestHeader(dirs) {
  let t = 0;
  for (const dir of dirs) {
    if (!exists(dir)) continue;
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) t = Math.max(t, newestHeader([p]));
      else if (d.name.endsWith('.h')) t = Math.max(t, fs.statSync(p).mtimeMs);
    }
  }
  return t;
}

function run(cmd, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve()
      : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

async function pool(tasks, n) {
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const task = tasks[next++];
      await task();
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
}

async function main() {
  if (process.platform === 'win32') fail('Windows builds are not supported yet');
  const core = coreDir();
  const napi = napiInclude();
  const cc = process.env.CC || 'cc';
  const outDir = path.join(pkgDir, 'build', 'Release');
  const objDir = path.join(pkgDir, 'build', debug ? 'obj-debug' : 'obj');
  const target = path.join(outDir, 'cellardb.node');
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(objDir, { recursive: true });

  const coreSrc = path.join(core, 'src');
  const coreFiles = fs.readdirSync(coreSrc, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => listC(path.join(coreSrc, d.name)));
  if (coreFiles.length === 0) fail(`no core sources under ${coreSrc}`);
  const addonFiles = listC(path.join(pkgDir, 'src'));

  const common = ['-fPIC', '-fvisibility=hidden', '-pthread', '-D_GNU_SOURCE',
    '-DCELLAR_BUILDING', '-std=gnu11', '-Wall', '-Wextra',
    ...(debug ? ['-O0', '-g'] : ['-O2', '-g', '-DNDEBUG']),
    '-I', path.join(core, 'include'), '-I', coreSrc,
    ...(process.env.CFLAGS ? process.env.CFLAGS.split(/\s+/).filter(Boolean) : [])];
  const headersTime = Math.max(newestHeader([path.join(core, 'include'), coreSrc,
    path.join(pkgDir, 'src')]), fs.statSync(__filename).mtimeMs);

  const objects = [];
  const tasks = [];
  for (const src of [...coreFiles, ...addonFiles]) {
    const isAddon = src.startsWith(path.join(pkgDir, 'src') + path.sep);
    const rel = path.relative(isAddon ? pkgDir : core, src).replace(/[\\/]/g, '_');
    const obj = path.join(objDir, (isAddon ? 'addon_' : 'core_') + rel.replace(/\.c$/, '.o'));
    objects.push(obj);
    const fresh = !force && exists(obj) &&
      fs.statSync(obj).mtimeMs >= Math.max(fs.statSync(src).mtimeMs, headersTime);
    if (fresh) continue;
    const flags = isAddon ? [...common, '-I', napi] : common;
    tasks.push(async () => {
      log(`cc ${path.relative(path.resolve(pkgDir, '..', '..'), src)}`);
      await run(cc, [...flags, '-c', src, '-o', obj]);
    });
  }
  // Objects of sources that no longer exist (or of another core) go away.
  for (const f of fs.readdirSync(objDir)) {
    if (f.endsWith('.o') && !objects.includes(path.join(objDir, f))) fs.rmSync(path.join(objDir, f));
  }
  await pool(tasks, jobs);
  const linkNeeded = force || tasks.length > 0 || !exists(target) ||
    objects.some((o) => fs.statSync(o).mtimeMs > fs.statSync(target).mtimeMs);
  if (linkNeeded) {
    log(`link ${path.relative(pkgDir, target)}`);
    const ldflags = process.platform === 'darwin'
      ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared'];
    if (process.platform !== 'darwin') {
      // Export only the Node-API entry points, not the core's cellar_* API.
      const map = path.join(pkgDir, 'build', 'exports.map');
      fs.writeFileSync(map, '{\n  global: napi_register_module_v*; node_api_module_get_api_version_v*;\n' +
        '  local: *;\n};\n');
      ldflags.push(`-Wl,--version-script=${map}`);
    }
    await run(cc, [...ldflags, '-pthread', '-o', target + '.tmp', ...objects]);
    fs.renameSync(target + '.tmp', target);
  } else {
    log('up to date');
  }
}

main().catch((err) => fail(err.message));
