/** Sim workers as child processes running the built `SimWorkerServer` (what `rewardlab sim-worker` runs). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Worker {
  child: ChildProcess;
  port: number;
  url: string;
}

const SCRIPT = `
const { SimWorkerServer } = require(${JSON.stringify(require.resolve('@rewardlab/sim'))});
SimWorkerServer.start(JSON.parse(process.argv[1])).then((s) => {
  process.stdout.write(JSON.stringify({ port: s.port, url: s.url }) + '\\n');
  process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
}, (err) => { process.stderr.write(String(err) + '\\n'); process.exit(1); });
`;

/** Every worker started, so that a suite's afterAll can kill the ones still running. */
export const started: Worker[] = [];

/** Starts a worker (port 0: any free port; host default 127.0.0.1) and resolves once it listens. */
export function startWorker(options: { envId: string; numEnvs: number; port?: number; host?: string; groups?: number; envOptions?: Record<string, unknown> }): Promise<Worker> {
  const child = spawn(process.execPath, ['-e', SCRIPT, JSON.stringify({ port: 0, ...options })], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const w = { child, ...(JSON.parse(line) as { port: number; url: string }) };
      started.push(w);
      resolve(w);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

/** kill -9 (or another signal), and wait until the process is gone. */
export function kill9(w: Worker, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => (w.child.once('exit', () => done()), w.child.kill(signal)));
}

export const killAll = (): Promise<void[]> => Promise.all(started.map((w) => kill9(w)));
