// Completed and failed work of one stage over the last hour, per minute (uPlot on a canvas).
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export type Point = { stage: string; minute: string; completed: number; failed: number };

export function QueueChart(p: { stage: string; points: Point[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const now = Math.floor(Date.now() / 60000) * 60;
    const xs = Array.from({ length: 61 }, (_, i) => now - (60 - i) * 60);
    const at = (x: number) => p.points.find((q) => q.stage === p.stage && Date.parse(q.minute) / 1000 === x);
    const data: uPlot.AlignedData = [xs, xs.map((x) => at(x)?.completed ?? 0), xs.map((x) => at(x)?.failed ?? 0)];
    const plot = new uPlot(
      {
        width: 260,
        height: 90,
        legend: { show: false },
        cursor: { show: false },
        axes: [{ show: false }, { size: 30, ticks: { show: false } }],
        series: [
          {},
          { label: 'completed', stroke: '#2a7d3f', width: 1.5 },
          { label: 'failed', stroke: '#b3261e', width: 1.5 },
        ],
      },
      data,
      box.current,
    );
    return () => plot.destroy();
  }, [p.stage, p.points]);
  return (
    <figure class="chart">
      <div ref={box} role="img" aria-label={`${p.stage}: completed and failed jobs per minute over the last hour`} />
      <figcaption>
        <span class="key-completed">completed</span> / <span class="key-failed">failed</span> per minute, last hour
      </figcaption>
    </figure>
  );
}
