import { SingleBar, Presets } from 'cli-progress';

/** A live progress bar on stderr (stdout stays free for results). */
export function progressBar(label: string, total: number): SingleBar {
  const bar = new SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {info}`,
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 5000,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, { info: '' });
  return bar;
}
