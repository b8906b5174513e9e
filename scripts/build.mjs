// `npm run build`: each process entry (the five services and the CLI) becomes
// one JavaScript bundle in dist/, run with plain `node`. Our own TypeScript
// (shared and the service it starts) is bundled; every npm package stays an
// external `require`, installed as a production dependency. Files the code
// reads next to itself (migrations, dashboard, studio steps, samples) are
// copied beside the bundles, where `__dirname` points in the bundle.
import { cpSync, existsSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');

/** Bundle name → its TypeScript entry. */
export const ENTRIES = {
  cli: 'cli/src/main.ts',
  'ops-api': 'services/ops-api/src/main.ts',
  'evidence-worker': 'services/evidence-worker/src/main.ts',
  'render-worker': 'services/render-worker/src/main.ts',
  scheduler: 'services/scheduler/src/main.ts',
  notifier: 'services/notifier/src/main.ts',
  // Not a process: the evidence worker's page-parsing thread, loaded beside the bundle that starts it.
  'extract-thread': 'services/evidence-worker/src/extract/extract-thread.ts',
};

/** Source folder → where it goes under dist/. */
const ASSETS = {
  'shared/src/db/migrations': 'migrations',
  'services/ops-api/src/dashboard/public': 'dashboard',
  'services/render-worker/src/render/browser/steps': 'steps',
  samples: 'samples',
};

const SOURCES = ['shared/src', 'services', 'cli/src', 'samples', 'package.json', 'scripts/build.mjs'];
const STAMP = path.join(DIST, '.built');

function newestMtime(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(p)) {
    if (name === 'node_modules' || name === 'dist') continue;
    newest = Math.max(newest, newestMtime(path.join(p, name)));
  }
  return newest;
}

/** Why the bundles need building, or null when dist/ is newer than every source. */
export function staleReason() {
  if (!existsSync(STAMP)) return 'dist/ has not been built';
  // An install without sources (the production image) is never stale.
  if (!existsSync(path.join(ROOT, 'shared/src'))) return null;
  const built = statSync(STAMP).mtimeMs;
  const newest = Math.max(...SOURCES.map((s) => newestMtime(path.join(ROOT, s))));
  return newest > built ? 'sources changed since the last build' : null;
}

/**
 * Keeps every npm package out of the bundle (our own `@rayvault/*` workspaces
 * go in). A package is required by its path relative to the bundle's folder
 * (`outDir`, dist/ for ours), resolved from the importing file: a workspace's
 * own node_modules (shared/node_modules/…) is not on a bundle's lookup path.
 */
const npmPackagesExternal = (outDir) => ({
  name: 'npm-packages-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@rayvault/')) return undefined;
      const resolved = createRequire(path.join(args.resolveDir, 'index.js')).resolve(args.path);
      if (!path.isAbsolute(resolved)) return { path: args.path, external: true }; // a Node builtin
      return { path: `./${path.relative(outDir, resolved).split(path.sep).join('/')}`, external: true };
    });
  },
});

/**
 * The ops dashboard for the browser: Preact + TSX (and uPlot's CSS) bundled by
 * esbuild into `<dir>/app.js` and `<dir>/app.css`, beside its static files.
 */
export async function buildDashboard(dir) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: { app: path.join(ROOT, 'services/ops-api/src/dashboard/app/main.tsx') },
    outdir: dir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  });
}

const COMMON = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning' };

/** One entry bundled into `outfile` the way dist/ is built (the bench runs its stage workers so). */
export async function bundle(entry, outfile) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    ...COMMON,
    entryPoints: [path.resolve(ROOT, entry)],
    outfile,
    plugins: [npmPackagesExternal(path.dirname(outfile))],
  });
  return outfile;
}

/**
 * Builds every bundle and copies the assets into a fresh folder, then swaps it
 * in for dist/ (a CLI started meanwhile runs the old build or the new one,
 * never half of one); returns the bundles' sizes in bytes.
 */
export async function build() {
  const esbuild = await import('esbuild');
  const started = new Date();
  const out = `${DIST}.${process.pid}.tmp`;
  rmSync(out, { recursive: true, force: true });
  let result;
  try {
    result = await esbuild.build({
      entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, entry]) => [name, path.join(ROOT, entry)])),
      outdir: out,
      ...COMMON,
      sourcemap: true,
      metafile: true,
      plugins: [npmPackagesExternal(DIST)],
    });
    for (const [from, to] of Object.entries(ASSETS))
      cpSync(path.join(ROOT, from), path.join(out, to), { recursive: true });
    await buildDashboard(path.join(out, 'dashboard'));
  } catch (err) {
    // A failed build leaves dist/ as it was and nothing beside it.
    rmSync(out, { recursive: true, force: true });
    throw err;
  }
  // Stamped with the start, so a source saved during the build makes it stale.
  writeFileSync(path.join(out, '.built'), `${started.toISOString()}\n`);
  utimesSync(path.join(out, '.built'), started, started);
  const old = `${DIST}.${process.pid}.old`;
  if (existsSync(DIST)) renameSync(DIST, old);
  renameSync(out, DIST);
  rmSync(old, { recursive: true, force: true });
  return Object.fromEntries(
    Object.entries(result.metafile.outputs)
      .filter(([f]) => f.endsWith('.js'))
      .map(([f, o]) => [path.basename(f, '.js'), o.bytes]),
  );
}

// No top-level await: the CLI's bin `require`s this module.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  build().then(
    (sizes) => {
      const list = Object.entries(sizes)
        .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)} KB`)
        .join(', ');
      process.stdout.write(`built dist/ in ${Date.now() - started} ms: ${list}\n`);
    },
    (err) => {
      process.stderr.write(`build failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
