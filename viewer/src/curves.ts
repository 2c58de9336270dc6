/**
 * Training curves on one x axis for uPlot: the union of every curve's steps, each curve's value at its
 * own steps and null elsewhere (drawn with gaps spanned).
 */
export function mergeCurves(curves: { step: number; value: number | null }[][]): [number[], ...(number | null)[][]] {
  const steps = [...new Set(curves.flatMap((c) => c.map((p) => p.step)))].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  const columns = curves.map((curve) => {
    const col: (number | null)[] = new Array(steps.length).fill(null);
    for (const p of curve) col[index.get(p.step)!] = p.value !== null && Number.isFinite(p.value) ? p.value : null;
    return col;
  });
  return [steps, ...columns];
}
