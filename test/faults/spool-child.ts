// A process the spool drill kills with -9: `append` writes spool records for
// one run until killed (some of them megabytes, so a kill can land inside
// write(2) and tear one); `replay` replays the spool dir once and prints its report.
import pg from 'pg';
import { createLogger, createPgRpc, createSpool, replaySpool } from '@rayvault/shared';

const { SPOOL_DIR, SPOOL_MODE, SPOOL_RUN, SPOOL_FENCE, SPOOL_FROM, DATABASE_URL } = process.env;
const log = createLogger('spool-child', 'silent');

async function main() {
  if (SPOOL_MODE === 'append') {
    const spool = createSpool(SPOOL_DIR!, 'drill', log);
    process.stdout.write('ready\n');
    for (let i = Number(SPOOL_FROM ?? 0); ; i++) {
      // Every third record is big: its write takes long enough to be cut by a kill.
      const pad = i % 3 === 2 ? 'x'.repeat(1_500_000) : '';
      spool.append('rv_append_event', { p_event_id: `${SPOOL_RUN}:${i}`, p_run: SPOOL_RUN, p_fence: Number(SPOOL_FENCE), p_type: 'drill_note', p_actor: 'spool-child',
        p_reason: null, p_payload: { i, pad } });
      // Let the event loop breathe so a replay claim or a kill finds us between records too.
      await new Promise((r) => setImmediate(r));
    }
  }
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  process.stdout.write('ready\n');
  const report = await replaySpool(SPOOL_DIR!, createPgRpc(pool), log);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  await pool.end();
}

main().catch((err) => {
  process.stderr.write(`spool-child: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
