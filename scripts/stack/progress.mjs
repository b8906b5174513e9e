// Step-by-step progress for `npm start`, so a newcomer sees what is happening.
const tty = process.stdout.isTTY;
let step = 0;
let total = 0;

export function plan(n) {
  total = n;
}

/** Runs one named setup step, printing its start, its duration and its outcome. */
export async function task(title, fn) {
  step++;
  const label = `[${step}/${total}] ${title}`;
  const started = Date.now();
  let timer;
  if (tty) {
    const frames = ['|', '/', '-', '\\'];
    let i = 0;
    timer = setInterval(
      () => process.stdout.write(`\r${frames[i++ % 4]} ${label} ${Math.round((Date.now() - started) / 1000)}s`),
      200,
    );
  } else {
    process.stdout.write(`${label} ...\n`);
  }
  try {
    const note = await fn();
    clearInterval(timer);
    process.stdout.write(
      `${tty ? '\r' : ''}✔ ${label}${note ? ` — ${note}` : ''} (${((Date.now() - started) / 1000).toFixed(1)}s)\n`,
    );
    return note;
  } catch (err) {
    clearInterval(timer);
    process.stdout.write(`${tty ? '\r' : ''}✘ ${label}\n`);
    throw err;
  }
}
