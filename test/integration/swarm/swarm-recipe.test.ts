/** A recipe's `run` step with `swarm:` runs as a global job: once per matching node, failing by node. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support.js';
import { dtoolOn, expectNothingLeft } from './swarm-cli.js';
import { SWARM_MANAGER, SWARM_WORKERS, engineAddress, ensureSwarm } from './swarm-fixture.js';

const manager = engineAddress(SWARM_MANAGER);
let dir: string;

async function recipe(name: string, command: string): Promise<string> {
  const file = join(dir, `${name}.recipe.yaml`);
  await writeFile(
    file,
    `recipe: ${name}
steps:
  - id: on-workers
    run:
      image: debian:bookworm-slim
      command: [sh, -c, ${JSON.stringify(command)}]
      swarm: {constraint: [node.role==worker]}
`,
  );
  return file;
}

beforeAll(async () => {
  await ensureSwarm();
  dir = await tempDir('dtool-it-swarm-recipe-');
});

describe('recipe run step with swarm:', () => {
  it('runs once on each matching node', async () => {
    const result = await dtoolOn(manager, ['recipe', 'run', await recipe('hello', 'echo hello from $(hostname)')]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/on-workers +run +done .*ran on 2 nodes/);
    await expectNothingLeft(manager);
  });

  it('fails the step, naming the node, when one node fails', async () => {
    const result = await dtoolOn(manager, ['recipe', 'run', await recipe('picky', `[ "$(hostname)" != ${SWARM_WORKERS[1]} ]`)]);
    expect(result.exitCode).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain(SWARM_WORKERS[1]);
    expect(`${result.stdout}${result.stderr}`).not.toContain(`${SWARM_WORKERS[0]} (`);
    await expectNothingLeft(manager);
  });
});
