/** `dtool recipe` and `dtool dns rebuild` on the command line: plans, and bad input refused before the engine is touched. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/cli/context.js';
import { runCli } from '../../../src/cli/program.js';
import type { CliIo } from '../../../src/cli/render.js';
import { exitCodeFor } from '../../../src/errors.js';
import { FakeDocker } from '../../support/fake-docker.js';

function fakeCli(cwd = '/home/ops') {
  const out: string[] = [];
  const io: CliIo = { stdout: (text) => out.push(text), stderr: () => {}, interactive: false, env: {}, cwd };
  const docker = new FakeDocker();
  return { docker, context: createContext(io, new AbortController().signal, docker), stdout: () => out.join('') };
}

async function failure(run: Promise<unknown>) {
  const error = await run.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeDefined();
  return error as { code: string; message: string; details: readonly string[] };
}

describe('dtool recipe', () => {
  it('plans the shipped DNS recipe without touching the engine, with --var paths taken from where the user stands', async () => {
    const cli = fakeCli(process.cwd());
    await runCli(['recipe', 'plan', 'recipes/dns.recipe.yaml', '--var', 'zones=./zones.yaml', '--var', 'publish=5353:53/udp'], cli.context);
    expect(cli.stdout()).toContain(`/in/zones.yaml ← file ${join(process.cwd(), 'zones.yaml')}`);
    for (const step of ['base (build)', 'generate (run)', 'check (validate)', 'server (build)', 'swap (swap)', 'prune (prune)'])
      expect(cli.stdout()).toContain(step);
    expect(cli.docker.calls).toEqual([]);
  });

  it('reports every problem in a recipe with its line, and exits 2 before any engine call', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dtool-recipe-cli-'));
    await writeFile(
      join(dir, 'bad.yaml'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${{ }} is the recipe syntax, not JavaScript's
      'recipe: bad\nsteps:\n  - id: a\n    launch: {image: x}\n  - id: b\n    run: {image: "${{ steps.c.image }}", command: [true]}\n',
    );
    const cli = fakeCli(dir);
    const error = await failure(runCli(['recipe', 'run', 'bad.yaml'], cli.context));
    expect(exitCodeFor(error)).toBe(2);
    expect(error.message).toMatch(/\d+ problems in recipe .*bad\.yaml: .*bad\.yaml:3 step a/);
    expect(error.details.join('\n')).toMatch(/bad\.yaml:4 +step a/);
    expect(error.details.join('\n')).toMatch(/bad\.yaml:6 +step b/);
    expect(cli.docker.calls).toEqual([]);
  });

  it('refuses a missing required variable before any engine call', async () => {
    const cli = fakeCli(process.cwd());
    const error = await failure(runCli(['recipe', 'run', 'recipes/dns.recipe.yaml'], cli.context));
    expect(exitCodeFor(error)).toBe(2);
    expect(error.message).toMatch(/zones/);
    expect(cli.docker.calls.filter((c) => c.method !== 'listContainers')).toEqual([]);
  });
});

describe('dtool dns rebuild', () => {
  it('needs --zones, and checks --publish and --name before the engine', async () => {
    for (const [args, pattern] of [
      [[], /--zones FILE is required/],
      [['--zones', 'z.yaml', '--publish', '70000'], /--publish expects a host port/],
      [['--zones', 'z.yaml', '--name', 'bad name'], /not a valid container name/],
    ] as const) {
      const cli = fakeCli();
      const error = await failure(runCli(['dns', 'rebuild', ...args], cli.context));
      expect(exitCodeFor(error)).toBe(2);
      expect(error.message).toMatch(pattern);
      expect(cli.docker.calls).toEqual([]);
    }
  });
});
