/**
 * The swap step on its own (health-gated cutover, rollback when the new container turns
 * unhealthy after cutover) and the shipped clones recipe (template → commit → clones),
 * whose clones the DNS flow then resolves by name. Real engine, real containers.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsRebuild, parseDnsRebuildParams } from '../../../src/helpers/dns/index.js';
import { dnsClient } from '../../../src/host/dns-query.js';
import { recipeReportError, runRecipe } from '../../../src/recipes/execute.js';
import { loadRecipe } from '../../../src/recipes/load.js';
import { TEST_LABEL, tempDir, testDeps } from '../support.js';

const suffix = randomBytes(3).toString('hex');
const containers: string[] = [];
const repositories: string[] = [];
const volumes: string[] = [];
let dir: string;

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const exists = (name: string) => docker('ps', '-aq', '--filter', `name=^${name}$`) !== '';

beforeAll(async () => {
  dir = await tempDir('dtool-it-recipes-');
});

afterAll(() => {
  if (containers.length) execFileSync('docker', ['rm', '-f', '-v', ...containers], { stdio: 'ignore' });
  for (const repository of repositories) {
    const images = docker('images', '-q', repository).split('\n').filter(Boolean);
    if (images.length) execFileSync('docker', ['rmi', '-f', ...new Set(images)], { stdio: 'ignore' });
  }
  for (const volume of volumes) execFileSync('docker', ['volume', 'rm', '-f', volume], { stdio: 'ignore' });
});

describe('swap', () => {
  const name = `dtool-it-app-${suffix}`;
  const volume = `dtool-it-app-state-${suffix}`;
  const repository = `dtool-it-swap/${suffix}`;
  let recipeFile: string;

  beforeAll(async () => {
    containers.push(name, `${name}-previous`);
    repositories.push(repository);
    volumes.push(volume);
    // The probe counts its calls in the service's own volume (the swap keeps mounts, so the
    // candidate and the final container share it): healthy while the count is below fail-after.
    recipeFile = join(dir, 'swap.recipe.yaml');
    await writeFile(
      recipeFile,
      `recipe: swap-test
vars:
  name: {}
  version: {}
steps:
  - id: image
    build:
      inline: |
        FROM debian:bookworm-slim
        LABEL version=\${{ version }}
      repository: ${repository}
  - id: swap
    swap:
      container: \${{ name }}
      image: \${{ steps.image.image }}
      window: 2
      probe:
        command: [sh, -c, 'n=$(cat /state/n 2>/dev/null || echo 0); echo $((n+1)) >/state/n; [ "$(cat /state/fail-after)" -gt "$n" ]']
`,
    );
    docker(
      'run',
      '-d',
      '--name',
      name,
      '--label',
      `${TEST_LABEL}=true`,
      '--restart',
      'unless-stopped',
      '-v',
      `${volume}:/state`,
      'debian:bookworm-slim',
      'sleep',
      'infinity',
    );
  });

  async function swapTo(version: string) {
    const recipe = await loadRecipe(recipeFile, dir);
    return runRecipe(await testDeps(), recipe, { vars: { name, version }, stateDir: join(dir, 'state') });
  }

  it('rolls back when the new container fails its probe after cutover: the old one is back under its name', async () => {
    const oldId = docker('inspect', '-f', '{{.Id}}', name);
    // The candidate's probe is call 0 (healthy); every call after cutover fails.
    docker('exec', name, 'sh', '-c', 'echo 0 >/state/n; echo 1 >/state/fail-after');
    const report = await swapTo('2');
    const error = recipeReportError(report);
    expect(error?.code).toBe('VERIFY_FAILED');
    expect(error?.message).toMatch(/after cutover/);
    expect(error?.hint).toMatch(/rolled back/);
    expect(docker('inspect', '-f', '{{.Id}} {{.State.Running}} {{.HostConfig.RestartPolicy.Name}}', name)).toBe(`${oldId} true unless-stopped`);
    expect(docker('ps', '-aq', '--filter', `name=${name}-`)).toBe('');
  });

  it('swaps to a healthy image, keeping name, mounts and restart policy; the old one is kept stopped', async () => {
    const oldId = docker('inspect', '-f', '{{.Id}}', name);
    docker('exec', name, 'sh', '-c', 'echo 0 >/state/n; echo 99 >/state/fail-after');
    const report = await swapTo('3');
    expect(recipeReportError(report)).toBeUndefined();
    expect(docker('inspect', '-f', '{{index .Config.Labels "version"}} {{.State.Running}} {{.HostConfig.RestartPolicy.Name}}', name)).toBe(
      '3 true unless-stopped',
    );
    expect(docker('exec', name, 'cat', '/state/fail-after')).toBe('99');
    expect(docker('inspect', '-f', '{{.Id}} {{.State.Running}}', `${name}-previous`)).toBe(`${oldId} false`);
    // Unchanged input: nothing built, nothing swapped.
    const again = await swapTo('3');
    expect(again.status).toBe('unchanged');
  });
});

describe('the clones recipe', () => {
  const network = `dtool-it-clones-${suffix}`;
  const template = `dtool-it-template-${suffix}`;
  const clone = `dtool-it-clone-${suffix}`;
  const repository = `dtool-it-clones/${suffix}`;
  const server = `dtool-it-clones-dns-${suffix}`;
  const vars = { network, template, clone, repository, domain: 'example.test' };

  beforeAll(() => {
    containers.push(template, `${clone}-1`, `${clone}-2`, `${clone}-3`, server, `${server}-previous`);
    repositories.push(repository, `dtool-dns/${server}`);
    docker('network', 'create', '--label', `${TEST_LABEL}=true`, network);
  });
  afterAll(() => {
    execFileSync('docker', ['rm', '-f', ...containers], { stdio: 'ignore' });
    execFileSync('docker', ['network', 'rm', network], { stdio: 'ignore' });
  });

  const runClones = async () =>
    runRecipe(await testDeps(), await loadRecipe('recipes/clones.recipe.yaml', process.cwd()), { vars, stateDir: join(dir, 'state') });

  it('creates N clones from the committed template, which resolve by name through the DNS server', async () => {
    const report = await runClones();
    expect(recipeReportError(report)).toBeUndefined();
    for (const i of [1, 2, 3]) {
      expect(docker('inspect', '-f', '{{.State.Running}} {{.Config.Hostname}}.{{.Config.Domainname}}', `${clone}-${i}`)).toBe(
        `true ${clone}-${i}.example.test`,
      );
    }
    expect(docker('exec', `${clone}-1`, 'cat', '/etc/motd')).toBe('prepared');

    const zones = join(dir, 'zones.yaml');
    await writeFile(zones, 'zones:\n  example.test:\n    records:\n      - {name: ns1, type: A, value: 10.0.0.53}\n');
    const dns = await dnsRebuild(await testDeps(), parseDnsRebuildParams({ zones, network, name: server }, dir), { stateDir: join(dir, 'state') });
    expect(recipeReportError(dns)).toBeUndefined();
    const serverAddress = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, server);
    const client = dnsClient(serverAddress, 53, 1000);
    for (const i of [1, 2, 3]) {
      const address = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, `${clone}-${i}`);
      expect(await client.query(`${clone}-${i}.example.test`, 'A')).toEqual([address]);
    }
  });

  it('a re-run keeps the clones that exist and creates the missing one', async () => {
    const kept = docker('inspect', '-f', '{{.Id}}', `${clone}-1`);
    docker('rm', '-f', `${clone}-2`);
    const report = await runClones();
    expect(report.steps.find((s) => s.id === 'clones')?.detail).toBe('created 1, kept 2');
    expect(docker('inspect', '-f', '{{.Id}}', `${clone}-1`)).toBe(kept);
    expect(exists(`${clone}-2`)).toBe(true);
  });
});
