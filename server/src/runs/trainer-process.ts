/**
 * The server's side of a trainer child process: forks `runner.js`, hands it a task, and feeds its
 * reports one at a time to a handler; reports that carry a `seq` are acknowledged only after the
 * handler (which commits them) has finished.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ChildMessage, EvaluateTask, ParentMessage, TrainTask } from './trainer-protocol';

export const RUNNER_PATH = join(__dirname, 'runner.js');

export interface TrainerHandlers {
  onMessage(message: ChildMessage): Promise<void>;
  /** After every report has been handled. */
  onExit(code: number | null, signal: NodeJS.Signals | null, stderrTail: string): Promise<void>;
}

export class TrainerProcess {
  readonly child: ChildProcess;
  readonly startedAt = new Date().toISOString();
  private queue: Promise<void> = Promise.resolve();
  private stderrTail = '';

  constructor(
    readonly task: TrainTask | EvaluateTask,
    handlers: TrainerHandlers,
  ) {
    this.child = fork(RUNNER_PATH, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
    this.child.stdout?.on('data', () => undefined);
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
      if (process.env.REWARDLAB_TRAINER_LOGS) process.stderr.write(chunk);
    });
    this.child.on('message', (message: ChildMessage) => {
      this.queue = this.queue.then(async () => {
        try {
          await handlers.onMessage(message);
          if ('seq' in message) this.send({ type: 'ack', seq: message.seq });
        } catch (err) {
          process.stderr.write(`rewardlab: could not store a trainer report (${message.type}): ${(err as Error).message}\n`);
        }
      });
    });
    this.child.on('exit', (code, signal) => {
      this.queue = this.queue.then(() => handlers.onExit(code, signal, this.stderrTail)).catch((err: Error) => {
        process.stderr.write(`rewardlab: ${err.message}\n`);
      });
    });
    this.child.on('error', () => undefined);
    this.send(task);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(message: ParentMessage): void {
    if (this.child.connected) this.child.send(message, () => undefined);
  }

  stop(): void {
    this.send({ type: 'stop' });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** The last line of a trainer's stderr that reads like an error, for a run's failure message. */
export function lastErrorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return [...lines].reverse().find((l) => /error/i.test(l)) ?? lines[lines.length - 1] ?? '';
}

/** Runs a one-shot task (evaluation) in a child and resolves to its result. */
export function runTrainerTask(task: EvaluateTask, timeoutMs = 300_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        f();
      }
    };
    const proc = new TrainerProcess(task, {
      onMessage: async (m) => {
        if (m.type === 'done') settle(() => resolve(m.result));
        else if (m.type === 'error') settle(() => reject(new Error(m.message)));
      },
      onExit: async (code, signal, stderr) => settle(() => reject(new Error(`the evaluation process exited (${signal ?? code}) ${lastErrorLine(stderr)}`.trim()))),
    });
    const timer = setTimeout(() => {
      proc.kill();
      settle(() => reject(new Error(`evaluation timed out after ${timeoutMs / 1000} s`)));
    }, timeoutMs);
  });
}
