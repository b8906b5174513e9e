import { Writable } from 'node:stream';
import { createLogger, maskSecrets, rememberSecrets, configSecrets } from './logger';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, log: createLogger('t', 'info', stream) };
}

it('redacts secrets in fields and in connection strings inside messages', () => {
  const { lines, log } = capture();
  log.info(
    {
      config: { DATABASE_URL: 'postgres://u:hunter2@db/x', TELEGRAM_BOT_TOKEN: '123:abc' },
      headers: { authorization: 'Bearer s3cret' },
    },
    'connecting to postgres://u:hunter2@db/x with bot123456:AAbbCC',
  );
  const out = lines.join('');
  expect(out).not.toMatch(/hunter2|s3cret|123:abc|AAbbCC/);
  expect(out).toContain('[redacted]');
  expect(JSON.parse(lines[0]).msg).toBe('connecting to postgres://u:***@db/x with bot***');
});

it('maskSecrets leaves ordinary text alone', () => {
  expect(maskSecrets('run 42 done at http://host/path?page=2 token bucket refilled')).toBe(
    'run 42 done at http://host/path?page=2 token bucket refilled',
  );
});

it('redacts credential fields at any depth, in arrays, child bindings and errors', () => {
  const { lines, log } = capture();
  const err = Object.assign(new Error('upstream said no'), { on: { payload: { secret_token: 'deep-err-secret' } } });
  log.child({ conn: { opts: { password: 'bound-pw-1' } } }).warn(
    {
      a: {
        b: {
          c: {
            d: {
              apikey: 'k-deep-1',
              api_key: 'k-deep-2',
              webhookSecret: 'w-deep',
              botToken: 'b-deep',
              Cookie: 'c-deep',
            },
          },
        },
      },
      list: [{ headers: { Authorization: 'Basic dXNlcjpwYXNz' } }],
      error: err,
      tokenId: 'tok_42',
      tokens: 3,
    },
    'nested',
  );
  const line = lines.join('');
  expect(line).not.toMatch(/deep-err-secret|bound-pw-1|k-deep|w-deep|b-deep|c-deep|dXNlcjpwYXNz/);
  const parsed = JSON.parse(line);
  expect(parsed.a.b.c.d).toEqual({
    apikey: '[redacted]',
    api_key: '[redacted]',
    webhookSecret: '[redacted]',
    botToken: '[redacted]',
    Cookie: '[redacted]',
  });
  expect(parsed.error).toEqual({ type: 'Error', message: 'upstream said no' });
  // Ids and counts of credentials stay readable.
  expect(parsed.tokenId).toBe('tok_42');
});

it('masks credentials inside string fields: URL userinfo, query parameters, bearer values, bot tokens', () => {
  const { lines, log } = capture();
  log.warn(
    {
      reason:
        'FetchError: request to http://127.0.0.1:9/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage failed',
      source: { url: 'https://shop.example/feed?apikey=qs-secret-1&page=2&access_token=qs-secret-2' },
      redis: 'redis://:p@ss@word@cache:6379/0',
      header: 'Authorization: Bearer eyJhbGciOi.payload.sig',
    },
    'fields',
  );
  const line = lines.join('');
  expect(line).not.toMatch(/AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw|qs-secret|ss@word|eyJhbGciOi/);
  expect(JSON.parse(line).source.url).toBe('https://shop.example/feed?apikey=***&page=2&access_token=***');
});

it("masks the process's own configured secrets by value, wherever they appear in a line", () => {
  const conf = {
    DATABASE_URL: 'postgres://rv:pg-canary-Zx81q%40w@db:5432/rv',
    TELEGRAM_WEBHOOK_SECRET: 'hook-canary-7777777',
    RAYVAULT_LOG_LEVEL: 'info',
    RAYVAULT_LEASE_MS: 2000,
  };
  rememberSecrets(configSecrets(conf));
  const { lines, log } = capture();
  log.info(
    { note: 'header was hook-canary-7777777', pw: ['pg-canary-Zx81q@w'] },
    'the password pg-canary-Zx81q@w and %s',
    'hook-canary-7777777',
  );
  log.info({ odd: { 'hook-canary-7777777': true } }, 'as a key');
  const out = lines.join('');
  expect(out).not.toMatch(/hook-canary|pg-canary/);
  // Short values (an embedded database's default password) are not masked everywhere.
  rememberSecrets(configSecrets({ DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1/x' }));
  log.info('postgres is up');
  expect(JSON.parse(lines.at(-1)!).msg).toBe('postgres is up');
});
