/**
 * The layering, pinned: families (src/helpers/<family>/) stand on the core and never on
 * each other; the core (src/core, src/run, src/docker, src/host) never reaches up into a
 * family; only the adapter imports dockerode; and no import cycle exists anywhere in src/.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports: static, type-only, re-exports and dynamic `import()`. */
function importSpecifiers(text: string): string[] {
  const specifiers: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/g)) specifiers.push(match[1]!);
  for (const match of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) specifiers.push(match[1]!);
  for (const match of text.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)) specifiers.push(match[1]!);
  return specifiers;
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

function importGraph(): { files: string[]; edges: Edge[]; packages: Map<string, string[]> } {
  const files = sourceFiles(src).map((f) => relative(root, f));
  const edges: Edge[] = [];
  const packages = new Map<string, string[]>();
  for (const file of files) {
    for (const specifier of importSpecifiers(readFileSync(join(root, file), 'utf8'))) {
      if (specifier.startsWith('.')) {
        const target = relative(root, resolve(root, dirname(file), specifier)).replace(/\.js$/, '.ts');
        edges.push({ from: file, to: target });
      } else {
        packages.set(specifier, [...(packages.get(specifier) ?? []), file]);
      }
    }
  }
  return { files, edges, packages };
}

const familyOf = (file: string): string | undefined => /^src\/helpers\/([^/]+)\//.exec(file)?.[1];
const CORE_FOLDERS = ['src/core/', 'src/run/', 'src/docker/', 'src/host/'];
/** The scheduler runs families only through src/job-kinds.ts, which is handed to it. */
const FAMILY_FREE = [...CORE_FOLDERS, 'src/schedule/'];

describe('import graph', () => {
  const { files, edges, packages } = importGraph();

  it('sees the files and their imports (the checks below are not vacuous)', () => {
    expect(files).toContain('src/helpers/mysql/backup.ts');
    expect(edges.some((e) => e.from === 'src/helpers/mysql/backup.ts' && e.to === 'src/run/run-helper.ts')).toBe(true);
    expect(importSpecifiers("const x = await import('./lazy.js');\nimport type { A } from './a.js';")).toEqual(['./a.js', './lazy.js']);
  });

  it('every import resolves to a file in src/', () => {
    const missing = edges.filter((e) => !files.includes(e.to));
    expect(missing).toEqual([]);
  });

  it('a family never imports another family', () => {
    const crossing = edges.filter((e) => {
      const from = familyOf(e.from);
      const to = familyOf(e.to);
      return from !== undefined && to !== undefined && from !== to;
    });
    expect(crossing).toEqual([]);
  });

  it('the core and the scheduler never import a family', () => {
    const upward = edges.filter((e) => FAMILY_FREE.some((f) => e.from.startsWith(f)) && e.to.startsWith('src/helpers/'));
    expect(upward).toEqual([]);
  });

  it('only the adapter imports dockerode', () => {
    expect(packages.get('dockerode')).toEqual(['src/docker/dockerode-adapter.ts']);
  });

  it('has no import cycle', () => {
    const next = new Map<string, string[]>();
    for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[][] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file]);
        return;
      }
      state.set(file, 'open');
      for (const to of next.get(file) ?? []) visit(to, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
