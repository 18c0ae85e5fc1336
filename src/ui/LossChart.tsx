// The live chart: training loss (left axis) and held-out exact-match accuracy (right axis)
// against the step, drawn by uPlot.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatNumber, formatPercent } from './format';

interface Props {
  losses: [number, number][];
  accuracy: [number, number][];
}

const HEIGHT = 150;

/** Both series on one x axis: the union of their steps, null where a series has no point. */
export function chartData(losses: [number, number][], accuracy: [number, number][]): uPlot.AlignedData {
  const steps = [...new Set([...losses.map(([s]) => s), ...accuracy.map(([s]) => s)])].sort((a, b) => a - b);
  const loss = new Map(losses);
  const acc = new Map(accuracy);
  return [steps, steps.map((s) => loss.get(s) ?? null), steps.map((s) => acc.get(s) ?? null)];
}

export function LossChart({ losses, accuracy }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    // No 2D canvas (a test DOM, a locked-down browser): the caption alone tells the numbers.
    if (!el || typeof ResizeObserver === 'undefined' || !document.createElement('canvas').getContext('2d')) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      scales: { x: { time: false }, loss: { auto: true }, acc: { range: [0, 1] } },
      axes: [
        // Steps are whole numbers: ticks at 1, 2, 5, 10, 20, ...
        { label: 'step', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000], values: (_u, ticks) => ticks.map(String) },
        { scale: 'loss', label: 'loss' },
        { scale: 'acc', side: 1, label: 'held-out accuracy', values: (_u, ticks) => ticks.map((t) => `${Math.round(t * 100)} %`), grid: { show: false } },
      ],
      series: [
        { label: 'step' },
        { label: 'loss', scale: 'loss', stroke: '#2f6fdb', width: 2, value: (_u, v) => (v == null ? '—' : formatNumber(v)) },
        {
          label: 'held-out accuracy',
          scale: 'acc',
          stroke: '#e0872b',
          width: 2,
          spanGaps: true,
          points: { show: true, size: 6 },
          value: (_u, v) => (v == null ? '—' : formatPercent(v)),
        },
      ],
      legend: { show: false }, // the caption says which line is which, and the last values
    };
    const chart = new uPlot(opts, chartData([], []), el);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(chartData(losses, accuracy));
  }, [losses, accuracy]);

  const lastLoss = losses.at(-1);
  const lastAcc = accuracy.at(-1);
  return (
    <figure className="chart" aria-label="Training loss and held-out accuracy">
      <div ref={box} className="chart-box" />
      <figcaption className="muted small">
        {lastLoss
          ? `Loss ${formatNumber(lastLoss[1])} at step ${lastLoss[0]}` + (lastAcc ? `; held-out accuracy ${formatPercent(lastAcc[1])} at step ${lastAcc[0]}.` : '.')
          : 'Training loss (blue) and held-out accuracy (orange) appear here as the bridges train.'}
        {lastLoss ? ' Loss in blue, held-out accuracy in orange.' : ''}
      </figcaption>
    </figure>
  );
}
