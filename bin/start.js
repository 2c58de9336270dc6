#!/usr/bin/env node
'use strict';
// `npm start`: build what is missing, then run the platform's demo.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
if (!existsSync(join(root, 'server', 'dist', 'index.js')) || !existsSync(join(root, 'sim', 'dist', 'index.js'))) {
  process.stderr.write('rewardlab: building the packages (tsc -b)…\n');
  const build = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const args = process.argv.slice(2);
const run = spawnSync(process.execPath, [join(__dirname, 'rewardlab.js'), 'demo', ...args], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
