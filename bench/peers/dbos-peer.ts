// DBOS Transact 5.3.0 in the best configuration PEERS.md found ("direct
// start"): one process; each run is a workflow of 4 no-op steps started
// directly (`DBOS.startWorkflow`, no queue) in the process that submits it.
// DBOS checkpoints the workflow's start, each step's result and its end in
// its system database: that is its ledger.
import { DBOS } from '@dbos-inc/dbos-sdk';
import { peerEnv } from './peer-config';
import { doneMarker, PEER_STAGES, ready, serveRuns } from './peer-protocol';

async function main() {
  const env = peerEnv();
  const done = doneMarker(env.redisUrl, env.doneKey);
  DBOS.setConfig({
    name: 'rayvault-bench',
    systemDatabaseUrl: env.dbUrl,
    systemDatabasePoolSize: 20,
    logLevel: 'error',
  });
  const steps = PEER_STAGES.map((s) => DBOS.registerStep(async () => undefined, { name: s }));
  const chain = DBOS.registerWorkflow(
    async (id: string) => {
      for (const step of steps) await step();
      // After the 4th step's checkpoint: the end of the run's last stage, as for the other contenders.
      await done.mark(id);
    },
    { name: 'chain' },
  );
  await DBOS.launch();
  serveRuns(async (id) => void (await DBOS.startWorkflow(chain, { workflowID: id })(id)));
  ready(async () => {
    await DBOS.shutdown();
    done.close();
  });
}

main().catch((err) => {
  process.stderr.write(`dbos peer: ${err?.stack ?? err}\n`);
  process.exit(1);
});
