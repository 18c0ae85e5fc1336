/** Linear warm-up to `lr`, then cosine decay to `lr * minRatio` at `steps`. */
export function learningRate(step: number, o: { lr: number; steps: number; warmup: number; minRatio?: number }): number {
  const minRatio = o.minRatio ?? 0.1;
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const p = Math.min(1, (step - o.warmup) / Math.max(1, o.steps - o.warmup));
  return o.lr * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * p)));
}
