#!/usr/bin/env node
'use strict';
// The `rewardlab` CLI. It runs the built packages (npm install builds them; `npm run build` rebuilds).
let cli;
try {
  cli = require('@rewardlab/server');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && /@rewardlab\/server/.test(err.message)) {
    process.stderr.write('rewardlab: the packages are not built yet: run `npm install` (or `npm run build`) at the repository root\n');
    process.exit(1);
  }
  throw err;
}
cli.runCli(process.argv).then(
  (code) => {
    // Exit explicitly: native backends (Dawn's WebGPU instance, probed by --backend auto) can keep the
    // event loop alive after the command is done. stdout/stderr are synchronous on pipes and files.
    process.exit(code);
  },
  (err) => {
    process.stderr.write(`rewardlab: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 70;
  },
);
