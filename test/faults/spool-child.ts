// A process the spool drill kills with -9: `append` writes spool records for
// one run until killed (or until a file-size limit cuts a record and the
// write fails); `replay` replays the spool dir once and prints its report.
import pg from 'pg';
import { createLogger, createPgRpc, createSpool, replaySpool } from '@rayvault/shared';

const { SPOOL_DIR, SPOOL_MODE, SPOOL_RUN, SPOOL_FENCE, SPOOL_FROM, DATABASE_URL } = process.env;
const log = createLogger('spool-child', 'silent');

async function main() {
  if (SPOOL_MODE === 'append') {
    const spool = createSpool(SPOOL_DIR!, 'drill', log);
    process.stdout.write('ready\n');
    for (let i = Number(SPOOL_FROM ?? 0); ; i++) {
      // Every fourth record is big, so a kill or the file-size limit often cuts a record in the middle.
      const pad = i % 4 === 3 ? 'x'.repeat(200_000) : '';
      spool.append('rv_append_event', {
        p_event_id: `${SPOOL_RUN}:${i}`,
        p_run: SPOOL_RUN,
        p_fence: Number(SPOOL_FENCE),
        p_type: 'drill_note',
        p_actor: 'spool-child',
        p_reason: null,
        p_payload: { i, pad },
      });
      await new Promise((r) => setTimeout(r, 2));
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
