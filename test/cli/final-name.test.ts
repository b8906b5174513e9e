// The final-file name: the render stage writes it, housekeeping (`index refresh`, `clean`) reads it back.
import { finalName, parseFinalName } from '@rayvault/render-worker';

const RUN = '3f2a9c1e-7b4d-4e2a-9c1e-7b4d4e2a9c1e';
const SHA = 'a1b2c3d4'.padEnd(64, '0');

describe('final file names', () => {
  it('reads back the run, segment and sha8 it was written with', () => {
    const name = finalName(RUN, 7, SHA);
    expect(name).toBe('3f2a9c1e-seg07-a1b2c3d4.mp4');
    expect(parseFinalName(name)).toEqual({ run8: '3f2a9c1e', segment: 7, sha8: 'a1b2c3d4' });
  });

  it('pads to two digits but keeps longer segment numbers whole', () => {
    expect(parseFinalName(finalName(RUN, 123, SHA))).toEqual({ run8: '3f2a9c1e', segment: 123, sha8: 'a1b2c3d4' });
  });

  it('accepts the legacy name without sha8', () => {
    expect(parseFinalName('3f2a9c1e-seg03.mp4')).toEqual({ run8: '3f2a9c1e', segment: 3, sha8: null });
  });

  it('refuses names it cannot attribute to a run', () => {
    for (const name of [
      'notes.txt',
      '3f2a9c1e-seg03.mov',
      'XYZ-seg03.mp4',
      '3f2a9c1e-seg03-abc.mp4',
      '3f2a9c1e-seg.mp4',
    ]) {
      expect(parseFinalName(name)).toBeNull();
    }
  });
});
