/**
 * Sim workers as real child processes for the worker suites: a small script that starts the built
 * `SimWorkerServer` (sim/dist, what `rewardlab sim-worker` runs) and prints its port as one JSON line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { SimWorkerOptions } from '../src/worker/server';

export const SIM_DIST = resolve(__dirname, '../dist/index.js');

const SCRIPT = `
const { SimWorkerServer } = require(process.env.SIM_DIST);
const opts = JSON.parse(process.argv[1]);
if (opts.verbose) opts.log = (line) => process.stderr.write('[worker] ' + line + '\\n');
SimWorkerServer.start(opts).then((s) => {
  process.stdout.write(JSON.stringify({ port: s.port, url: s.url }) + '\\n');
  process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
}, (err) => { process.stderr.write(String(err && err.stack || err) + '\\n'); process.exit(1); });
`;

export interface WorkerProcess {
  child: ChildProcess;
  port: number;
  url: string;
}

/** Starts a worker process and resolves once it listens (port 0: any free port). */
export function startWorker(options: Omit<SimWorkerOptions, 'log'> & { verbose?: boolean }): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['-e', SCRIPT, JSON.stringify({ port: 0, ...options })], {
    env: { ...process.env, SIM_DIST },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error('the worker did not start within 30 s')), 30_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const { port, url } = JSON.parse(line) as { port: number; url: string };
      resolvePromise({ child, port, url });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited with code ${code} before listening`));
    });
  });
}

/** kill -9, and wait until the process is gone. */
export function killWorker(w: WorkerProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!w || w.child.exitCode !== null || w.child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    w.child.once('exit', () => done());
    w.child.kill(signal);
  });
}
