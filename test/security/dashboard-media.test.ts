// The dashboard's segment videos: the route serves only files the video index
// names for that run, inside RAYVAULT_STATE_DIR, never through a symbolic link,
// and only to a logged-in viewer. Ranges work (the <video> element seeks with them).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startApi, type Api } from '../ops-api/api-support';

let api: Api;
let runId: string;
let otherRun: string;
const BYTES = Buffer.from('0123456789abcdefghij');

async function index(run: string, segment: number, file: string) {
  await api.rt.pool.query(
    `INSERT INTO artifacts (run_id, stage, segment, kind, path, sha256, bytes) VALUES ($1, 'render', $2, 'video', $3, $4, 20)`,
    [run, segment, file, 'ab'.repeat(32)],
  );
}
const video = (
  run: string,
  segment: number | string,
  headers: Record<string, string> = {},
  token = api.tokens.viewer,
) => api.call('GET', `/api/runs/${run}/segments/${segment}/video`, { token, headers });

beforeAll(async () => {
  api = await startApi('dash-media');
  const mk = async () =>
    (
      await api.call('POST', '/api/runs', {
        token: api.tokens.operator,
        body: { product: { name: 'Media kettle', sources: [{ url: 'https://shop.example/p', tier: 5 }] } },
      })
    ).body.id as string;
  runId = await mk();
  otherRun = await mk();
  const finals = path.join(api.t.stateDir, 'finals');
  mkdirSync(finals, { recursive: true });
  writeFileSync(path.join(finals, 'seg-01.mp4'), BYTES);
  writeFileSync(path.join(api.t.stateDir, '..', 'dash-media-outside.mp4'), 'secret outside the state dir');
  symlinkSync('/etc/passwd', path.join(finals, 'seg-02.mp4'));
  symlinkSync(finals, path.join(api.t.stateDir, 'linked-dir'));
  await index(runId, 1, 'finals/seg-01.mp4');
  await index(runId, 2, 'finals/seg-02.mp4');
  await index(runId, 3, '../dash-media-outside.mp4');
  await index(runId, 4, 'linked-dir/seg-01.mp4');
  await index(runId, 5, '/etc/passwd');
});
afterAll(async () => {
  await api?.close();
});

describe('segment videos served to the dashboard', () => {
  it('an indexed file inside the state dir, whole and by range', async () => {
    const whole = await video(runId, 1);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    expect(whole.body).toBe(BYTES.toString());
    const part = await video(runId, 1, { range: 'bytes=2-5' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 2-5/20');
    expect(String(part.body)).toBe('2345');
  });

  it('no session or token: refused', async () => {
    expect((await api.call('GET', `/api/runs/${runId}/segments/1/video`)).status).toBe(401);
  });

  it('a symbolic link in the state dir pointing at /etc/passwd: refused', async () => {
    const res = await video(runId, 2);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/symbolic link/);
  });

  it('a directory link on the way to a real file: refused', async () => {
    expect((await video(runId, 4)).status).toBe(403);
  });

  it('an index entry that climbs out of the state dir, or is absolute: refused', async () => {
    for (const n of [3, 5]) {
      const res = await video(runId, n);
      expect(res.status).toBe(403);
      expect(res.body.error.message).toMatch(/outside RAYVAULT_STATE_DIR/);
    }
  });

  it("another run's segment, a segment the index does not name, a path instead of a number: not found", async () => {
    expect((await video(otherRun, 1)).status).toBe(404);
    expect((await video(runId, 9)).status).toBe(404);
    expect((await video(runId, '..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
    expect((await video('not-a-run', 1)).status).toBe(404);
  });
});
