// Reads a Dockerfile as data for the stack tests (no Docker engine runs here):
// stages, their instructions, and the few instruction forms the tests act on.

export type Instruction = { op: string; args: string; line: number };
export type Stage = { image: string; name?: string; instructions: Instruction[] };

/** Stages in order; continuation lines joined, comments dropped (as Docker does). */
export function parseDockerfile(text: string): Stage[] {
  const logical: Array<{ text: string; line: number }> = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) return; // a comment inside a continuation is skipped too
    if (!buf) start = i + 1;
    if (t.endsWith('\\')) {
      buf += `${t.slice(0, -1).trim()} `;
      return;
    }
    logical.push({ text: buf + t, line: start });
    buf = '';
  });
  const stages: Stage[] = [];
  for (const { text: l, line } of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile line ${line}: cannot read "${l}"`);
    const op = m[1].toUpperCase();
    if (op === 'FROM') {
      const [image, as, name] = m[2].split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      if (!stages.length) throw new Error(`Dockerfile line ${line}: ${op} before FROM`);
      stages.at(-1)!.instructions.push({ op, args: m[2], line });
    }
  }
  return stages;
}

export const ofOp = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op);

/** `["a", "b"]` (exec form) or a shell command (`sh -c`). */
export function commandOf(args: string): string[] {
  return args.trimStart().startsWith('[') ? (JSON.parse(args) as string[]) : ['/bin/sh', '-c', args];
}

/** `COPY [--from=x] [--chown=…] src… dest`. */
export function copyOf(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/).filter(Boolean);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** `ENV A=b C=d` (the key=value form; values without spaces). */
export function envOf(args: string): Record<string, string> {
  return Object.fromEntries(
    args
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => {
        const eq = kv.indexOf('=');
        if (eq < 1) throw new Error(`ENV ${args}: only the KEY=value form is read`);
        return [kv.slice(0, eq), kv.slice(eq + 1).replace(/^"(.*)"$/, '$1')];
      }),
  );
}

/** `HEALTHCHECK [--opt=v …] CMD …`: the command as `docker` runs it. */
export function healthcheckOf(args: string): string[] {
  const m = /^(?:--\S+\s+)*CMD\s+([\s\S]+)$/.exec(args.trim());
  if (!m) throw new Error(`HEALTHCHECK ${args}: expected [--options] CMD <command>`);
  return commandOf(m[1]);
}
