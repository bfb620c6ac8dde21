#!/usr/bin/env node
'use strict';
// `npm pack` / `npm publish` helper: copy the cellardb core (core/include and
// core/src, the C sources the addon is built from) into ./core so the tarball
// builds anywhere; `--clean` (postpack) removes the copy again. In a
// repository checkout the build reads ../../core directly, so ./core only ever
// exists while a pack runs (and is ignored by git).

const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const dest = path.join(pkgDir, 'core');
const src = path.resolve(pkgDir, '..', '..', 'core');

if (process.argv.includes('--clean')) {
  fs.rmSync(dest, { recursive: true, force: true });
  process.exit(0);
}

if (!fs.existsSync(path.join(src, 'include', 'cellardb.h'))) {
  if (fs.existsSync(path.join(dest, 'include', 'cellardb.h'))) process.exit(0); // already bundled
  process.stderr.write('prepack: cannot find the cellardb core at ' + src + '\n');
  process.exit(1);
}

fs.rmSync(dest, { recursive: true, force: true });
const keep = (p) => fs.statSync(p).isDirectory() || /\.(c|h)$/.test(p);
for (const part of ['include', 'src']) {
  fs.cpSync(path.join(src, part), path.join(dest, part), {
    recursive: true,
    filter: keep,
  });
}
for (const doc of ['README.md', 'LICENSE']) {
  const f = path.join(src, doc);
  if (fs.existsSync(f)) fs.copyFileSync(f, path.join(dest, doc));
}
