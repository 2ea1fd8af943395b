/**
 * What a Dockerfile builds from, read without building: its `FROM` images after build
 * arguments are applied (global `ARG` defaults, overridden by `--build-arg`), leaving out
 * earlier stages and `scratch`. A build is cached by what it builds from, so a base that
 * moved must change the cache key; and a base nobody has is an error before the build.
 */

/** Logical lines: continuations joined, comments and blank lines dropped. */
function instructions(dockerfile: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const raw of dockerfile.split(/\r?\n/)) {
    const line = raw.trim();
    // Comment and empty lines are skipped, inside a continued instruction too (as the builder does).
    if (line === '' || line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push((current + line).trim());
    current = '';
  }
  if (current.trim()) lines.push(current.trim());
  return lines;
}

/** `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alt}`, as the builder expands them in FROM. */
export function expandArgs(text: string, values: Readonly<Record<string, string | undefined>>): string {
  return text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_, braced, op, word, bare) => {
    const value = values[(braced ?? bare) as string];
    if (op === '-') return value ? value : (word as string);
    if (op === '+') return value ? (word as string) : '';
    return value ?? '';
  });
}

export interface BaseImages {
  /** External images, in order of first use. */
  readonly images: readonly string[];
  /** FROM lines whose image came out empty after expansion (an ARG without a value). */
  readonly unresolved: readonly string[];
}

export function baseImages(dockerfile: string, buildArgs: Readonly<Record<string, string>> = {}): BaseImages {
  const globalArgs: Record<string, string | undefined> = {};
  const stages = new Set<string>();
  const images: string[] = [];
  const unresolved: string[] = [];
  let seenFrom = false;
  for (const line of instructions(dockerfile)) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const instruction = keyword.toUpperCase();
    if (instruction === 'ARG' && !seenFrom) {
      for (const declaration of rest) {
        const eq = declaration.indexOf('=');
        const name = eq < 0 ? declaration : declaration.slice(0, eq);
        const fallback = eq < 0 ? undefined : declaration.slice(eq + 1).replace(/^(["'])(.*)\1$/, '$2');
        globalArgs[name] = buildArgs[name] ?? fallback;
      }
    } else if (instruction === 'FROM') {
      seenFrom = true;
      const words = rest.filter((w) => !w.startsWith('--'));
      const image = expandArgs(words[0] ?? '', globalArgs);
      const alias = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      if (image === '') unresolved.push(line);
      else if (image !== 'scratch' && !stages.has(image.toLowerCase()) && !images.includes(image)) images.push(image);
      if (alias) stages.add(alias.toLowerCase());
    }
  }
  return { images, unresolved };
}
