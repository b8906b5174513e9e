// The run page's media: the final segments as video, and their timeline (with the CSV download).
import { secs } from './run-format';

export type Segment = {
  segment: number;
  status: string;
  duration_s: number | null;
  target_s: number | null;
  drift_s: number | null;
  problem?: string;
  video: string | null;
};
export type Timeline = {
  segments: Segment[];
  segments_ready: number;
  segments_total: number;
  duration_s: number;
  target_s: number;
  drift_s: number;
};

export function Media(p: { id: string; t: Timeline }) {
  return (
    <div>
      <div class="videos">
        {p.t.segments
          .filter((s) => s.video)
          .map((s) => (
            <figure key={s.segment}>
              <video controls preload="metadata" src={s.video!} data-segment={s.segment} />
              <figcaption>Segment {s.segment}</figcaption>
            </figure>
          ))}
      </div>
      <TimelineTable t={p.t} />
      <p>
        <a href={`/api/runs/${p.id}/timeline.csv`} download>
          Timeline CSV
        </a>
      </p>
    </div>
  );
}

/** A row per segment with where it starts and ends on the video, then the totals. */
function TimelineTable(p: { t: Timeline }) {
  let start = 0;
  return (
    <table class="timeline">
      <thead>
        <tr>
          <th>Segment</th>
          <th>Start</th>
          <th>End</th>
          <th>Duration</th>
          <th>Target</th>
          <th>Drift</th>
          <th>State</th>
        </tr>
      </thead>
      <tbody>
        {p.t.segments.map((s) => {
          const row = (
            <tr key={s.segment}>
              <td>{s.segment}</td>
              <td>{secs(start)}</td>
              <td>{secs(start + (s.duration_s ?? 0))}</td>
              <td>{secs(s.duration_s)}</td>
              <td>{secs(s.target_s)}</td>
              <td>{secs(s.drift_s)}</td>
              <td class={`seg-${s.status}`}>
                {s.status}
                {s.problem ? ` (${s.problem})` : ''}
              </td>
            </tr>
          );
          start += s.duration_s ?? 0;
          return row;
        })}
      </tbody>
      <tfoot>
        <tr>
          <th>Total</th>
          <td />
          <td />
          <td>{secs(p.t.duration_s)}</td>
          <td>{secs(p.t.target_s)}</td>
          <td>{secs(p.t.drift_s)}</td>
          <td>
            {p.t.segments_ready}/{p.t.segments_total} READY
          </td>
        </tr>
      </tfoot>
    </table>
  );
}
