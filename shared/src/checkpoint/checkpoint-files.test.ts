import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCheckpointFiles } from './checkpoint-files';

it('saves steps atomically per stage and generation, and survives a corrupt file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cp-'));
  const cp = createCheckpointFiles(dir);
  cp.saveStep('r1', 'voice', 0, 'seg-0', { file: 'a.wav' });
  cp.saveStep('r1', 'voice', 0, 'seg-1', { file: 'b.wav' });
  cp.saveStep('r1', 'render', 0, 'seg-0', 1);
  expect(cp.steps('r1', 'voice', 0)).toEqual({ 'seg-0': { file: 'a.wav' }, 'seg-1': { file: 'b.wav' } });
  expect(cp.steps('r1', 'voice', 1)).toEqual({}); // after a refetch the stage starts clean
  expect(readdirSync(dir)).toEqual(['r1.json']); // no temp files left behind
  writeFileSync(path.join(dir, 'r1.json'), '{"run_id":"r1","sta'); // torn by a crash outside our writer
  expect(cp.steps('r1', 'voice', 0)).toEqual({});
  cp.remove('r1');
  expect(readdirSync(dir)).toEqual([]);
});
