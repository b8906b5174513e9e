import { Writable } from 'node:stream';
import { createLogger, maskSecrets } from './logger';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { lines, log: createLogger('t', 'info', stream) };
}

it('redacts secrets in fields and in connection strings inside messages', () => {
  const { lines, log } = capture();
  log.info({ config: { DATABASE_URL: 'postgres://u:hunter2@db/x', TELEGRAM_BOT_TOKEN: '123:abc' }, headers: { authorization: 'Bearer s3cret' } },
    'connecting to postgres://u:hunter2@db/x with bot123456:AAbbCC');
  const out = lines.join('');
  expect(out).not.toMatch(/hunter2|s3cret|123:abc|AAbbCC/);
  expect(out).toContain('[redacted]');
  expect(JSON.parse(lines[0]).msg).toBe('connecting to postgres://u:***@db/x with bot***');
});

it('maskSecrets leaves ordinary text alone', () => {
  expect(maskSecrets('run 42 done at http://host/path')).toBe('run 42 done at http://host/path');
});
