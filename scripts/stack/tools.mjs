// Finds the system tools the stages need and installs the missing ones with
// apt-get where this machine has it; elsewhere says exactly what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const TOOLS = [
  {
    bin: 'redis-server',
    apt: 'redis-server',
    brew: 'redis',
    needed: (env) => !env.REDIS_URL && !env.REDIS_CLUSTER_NODES,
  },
  { bin: 'ffmpeg', apt: 'ffmpeg', brew: 'ffmpeg' },
  { bin: 'ffprobe', apt: 'ffmpeg', brew: 'ffmpeg' },
  { bin: 'espeak-ng', apt: 'espeak-ng', brew: 'espeak-ng' },
];

const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

export function missingTools(env) {
  return TOOLS.filter((t) => (t.needed ? t.needed(env) : true) && !has(t.bin));
}

export function installTools(missing) {
  if (!missing.length) return 'all present';
  const apt = [...new Set(missing.map((t) => t.apt))];
  if (process.platform === 'linux' && has('apt-get')) {
    const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
    const run = (args) =>
      execFileSync(sudo[0] ?? args[0], sudo.length ? args : args.slice(1), {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    run(['apt-get', 'update', '-qq']);
    run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...apt]);
    return `installed ${apt.join(', ')}`;
  }
  const brew = [...new Set(missing.map((t) => t.brew))].join(' ');
  throw new Error(
    `missing tools: ${missing.map((t) => t.bin).join(', ')}.\n  macOS: brew install ${brew}\n  Debian/Ubuntu: sudo apt-get install ${apt.join(' ')}`,
  );
}

export function chromiumNote(env) {
  const path = env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  return existsSync(path)
    ? null
    : `Chromium not found at ${path}: only needed for RAYVAULT_RENDER_PROVIDER=browser (apt-get install chromium)`;
}
