import { Command, CommanderError } from 'commander';
import { registerEnvCommands } from './envs';
import { registerBenchCommands } from './bench';
import { registerDemoCommand } from './demo';
import { registerTrainBench, registerTrainCommands } from './train';
import { registerRewardCommands } from './reward';
import { reportError } from './output';
import { registerSimWorkerCommand } from './sim-worker';
import { registerStreamBench } from './bench-stream';
import { registerServeCommand } from './serve';
import { registerTrainerAgentCommand } from './trainer-agent';
import { registerRtbBench, registerRtbCommands } from './rtb';
import { registerApiBench } from './bench-api';
import { registerRenderBench, registerRenderCommand } from './render';
import { registerVlmBench, registerVlmCommands } from './vlm';
import { registerDemoCommands, registerRewardLearnCommand } from './perceptual';

export function buildProgram(): Command {
  const program = new Command('rewardlab')
    .description('Train robot and game agents from designed rewards')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerEnvCommands(program);
  registerBenchCommands(program);
  registerDemoCommand(program);
  registerRewardCommands(program);
  registerTrainCommands(program);
  registerSimWorkerCommand(program);
  registerServeCommand(program);
  registerTrainerAgentCommand(program);
  registerRtbCommands(program);
  registerRenderCommand(program);
  registerVlmCommands(program);
  registerDemoCommands(program);
  registerRewardLearnCommand(program);
  const bench = program.commands.find((c) => c.name() === 'bench');
  if (bench) registerTrainBench(bench);
  if (bench) registerStreamBench(bench);
  if (bench) (require('./bench-viewer') as typeof import('./bench-viewer')).registerViewerBench(bench);
  if (bench) registerRtbBench(bench);
  if (bench) registerApiBench(bench);
  if (bench) registerRenderBench(bench);
  if (bench) registerVlmBench(bench);
  return program;
}

/** Runs the CLI; resolves to the exit code. Every failure is a one-line message (and `{ error }` under --json). */
export async function runCli(argv: readonly string[] = process.argv): Promise<number> {
  const json = argv.includes('--json');
  const program = buildProgram();
  program.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    outputError: (s, write) => write(s),
  });
  try {
    await program.parseAsync([...argv]);
    // A command that ended as asked but not by itself (a run stopped by SIGTERM) sets its exit code.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      if (json) process.stdout.write(`${JSON.stringify({ error: { name: 'UsageError', message: err.message.replace(/^error: /, '') } })}\n`);
      return err.exitCode || 1;
    }
    return reportError(err, json);
  }
}
