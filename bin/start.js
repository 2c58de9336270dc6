#!/usr/bin/env node
'use strict';
// `npm start`: build what is missing, then serve the API on port 3000 (SQLite at ./data/rewardlab.sqlite
// unless DATABASE_URL says otherwise), the viewer (or a status page) at /, and a demo run when the
// database has no runs. Extra arguments go to `rewardlab serve` (e.g. `npm start -- --port 8080`).
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const built = ['sim/dist/index.js', 'rewards/dist/index.js', 'agents/dist/index.js', 'server/dist/index.js', 'server/dist/app/server.js'];
if (!built.every((f) => existsSync(join(root, f)))) {
  process.stderr.write('rewardlab: building the packages (tsc -b)…\n');
  const build = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const args = process.argv.slice(2);
const child = spawn(process.execPath, [join(__dirname, 'rewardlab.js'), 'serve', '--port', '3000', '--demo', ...args], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
