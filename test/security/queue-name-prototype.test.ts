// Queue names taken from the URL and looked up by name: "constructor",
// "__proto__" and friends are properties of every plain object, so a lookup
// that is not limited to our own queues found them and the route crashed (500).
import { startApi, type Api } from '../ops-api/api-support';

let api: Api;
beforeAll(async () => {
  api = await startApi('queue-proto');
});
afterAll(() => api.close());

const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const admin = () => ({ token: api.tokens.admin, body: { reason: 'drill', confirm: 'constructor' } });

describe('naming a queue after an Object.prototype property', () => {
  it.each(NAMES)('"%s": every route that takes a queue name answers 404 (or 422), never 500', async (name) => {
    const answers = {
      pause: (await api.call('POST', `/api/ops/queues/${name}/pause`, admin())).status,
      resume: (await api.call('POST', `/api/ops/queues/${name}/resume`, admin())).status,
      purge: (await api.call('POST', `/api/ops/queues/${name}/purge`, admin())).status,
      redrive: (await api.call('POST', `/api/dead-letters/${name}/1/redrive`, admin())).status,
      deadLetters: (await api.call('GET', `/api/dead-letters?queue=${name}`, { token: api.tokens.admin })).status,
      bullBoardQueue: (await api.call('GET', `/admin/queues/api/queues/${name}/metrics`, { token: api.tokens.admin }))
        .status,
    };
    expect(answers).toEqual({
      pause: 404,
      resume: 404,
      purge: 404,
      redrive: 404,
      deadLetters: 422,
      bullBoardQueue: 404,
    });
  });

  it('the 404 names the queues that exist', async () => {
    const res = await api.call('POST', '/api/ops/queues/constructor/pause', admin());
    expect(res.body.error.message).toBe('no queue constructor: one of evidence, voice, render, qc, alerts');
  });
});
