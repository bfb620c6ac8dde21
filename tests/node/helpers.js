'use strict';
// Shared by the tests in this folder (not a test file itself).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..', '..');
const pkgDir = path.join(repoRoot, 'bindings', 'node');
const addon = path.join(pkgDir, 'build', 'Release', 'cellardb.node');

// Build the addon on first use when a test run starts without it.
if (!process.env.CELLARDB_NODE_ADDON && !fs.existsSync(addon)) {
  execFileSync(process.execPath, [path.join(pkgDir, 'scripts', 'build.js'), '--quiet'],
    { stdio: 'inherit' });
}

const cellardb = require(pkgDir);

const made = [];
/** A fresh temporary folder, removed when the process exits. */
function tmpdir(tag = 'cellardb-node-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), tag));
  made.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A path for a new database file in a fresh temporary folder. */
function tmpdb(name = 'test.cellar') {
  return path.join(tmpdir(), name);
}

module.exports = { cellardb, repoRoot, pkgDir, tmpdir, tmpdb };
