/**
 * The two-pass DNS rebuild on the real engine with Debian's BIND: real queries against the
 * server dtool builds and swaps, containers registered by label, an unchanged input that
 * rebuilds nothing, and the faults (a bad zone, a crashing generator, Ctrl-C, a second run
 * at once), each leaving the running server answering its old config.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsClient } from '../../../src/host/dns-query.js';
import { acquireLock } from '../../../src/host/lock.js';
import { type DnsRebuildParams, dnsRebuild, parseDnsRebuildParams } from '../../../src/helpers/dns/index.js';
import { type RecipeReport, recipeReportError } from '../../../src/recipes/execute.js';
import { helperContainers, pollUntil, startDtool, tempDir, TEST_LABEL, testDeps } from '../support.js';

const suffix = randomBytes(3).toString('hex');
const network = `dtool-it-dns-${suffix}`;
const server = `dtool-it-dns-${suffix}`;
const repository = `dtool-it-dns/${suffix}`;
const cleanup: string[] = [];
let dir: string;
let stateDir: string;
let zonesFile: string;
let params: DnsRebuildParams;

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

function zones(wwwAddress: string, extra = ''): string {
  return `zones:
  example.test:
    records:
      - {name: ns1, type: A, value: 10.0.0.53}
      - {name: www, type: A, value: ${wwwAddress}}
      - {name: api, type: CNAME, value: www}
      - {name: txt, type: TXT, value: "hello world"}
${extra}`;
}

/** A sleeping container on the test network, registered in DNS by label. */
function startLabelled(name: string, dnsName: string): void {
  cleanup.push(name);
  docker(
    'run',
    '-d',
    '--name',
    name,
    '--network',
    network,
    '--label',
    `${TEST_LABEL}=true`,
    '--label',
    `dtool.dns.name=${dnsName}`,
    'debian:bookworm-slim',
    'sleep',
    '600',
  );
}

function addressOf(container: string): string {
  return docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container);
}

async function ask(name: string, type: 'A' | 'CNAME' | 'TXT' = 'A'): Promise<string> {
  const client = dnsClient(addressOf(server), 53, 1000);
  try {
    return (await client.query(name, type)).join(',');
  } catch (error) {
    return `error ${(error as NodeJS.ErrnoException).code}`;
  }
}

async function rebuild(options: { signal?: AbortSignal; lockWaitMs?: number } = {}): Promise<RecipeReport> {
  const deps = await testDeps(options.signal ? { signal: options.signal } : {});
  return dnsRebuild(deps, params, { stateDir, ...(options.lockWaitMs !== undefined ? { lockWaitMs: options.lockWaitMs } : {}) });
}

const statusOf = (report: RecipeReport) => Object.fromEntries(report.steps.map((s) => [s.id, s.status]));
const serverImages = () => docker('images', '-q', repository).split('\n').filter(Boolean).length;

beforeAll(async () => {
  dir = await tempDir('dtool-it-dns-');
  stateDir = join(dir, 'state');
  zonesFile = join(dir, 'zones.yaml');
  await writeFile(zonesFile, zones('10.0.0.10'));
  docker('network', 'create', '--label', `${TEST_LABEL}=true`, network);
  params = parseDnsRebuildParams({ zones: zonesFile, network, name: server, repository }, dir);
});

afterAll(() => {
  for (const name of [...cleanup, server, `${server}-previous`]) execFileSync('docker', ['rm', '-f', '-v', name], { stdio: 'ignore' });
  const images = docker('images', '-q', repository).split('\n').filter(Boolean);
  if (images.length) execFileSync('docker', ['rmi', '-f', ...new Set(images)], { stdio: 'ignore' });
  execFileSync('docker', ['network', 'rm', network], { stdio: 'ignore' });
});

describe('dns rebuild, two passes', () => {
  it('creates the server the first time; it answers the zones spec and the labelled containers', async () => {
    startLabelled(`dtool-it-web1-${suffix}`, 'web1');
    const report = await rebuild();
    expect(recipeReportError(report)).toBeUndefined();
    expect(report.status).toBe('changed');
    expect(await ask('www.example.test')).toBe('10.0.0.10');
    expect(await ask('api.example.test', 'CNAME')).toBe('www.example.test.');
    expect(await ask('txt.example.test', 'TXT')).toBe('hello world');
    expect(await ask('web1.example.test')).toBe(addressOf(`dtool-it-web1-${suffix}`));
    // Least privilege: the server runs as bind, with every capability dropped and a read-only root.
    expect(docker('inspect', '-f', '{{.Config.User}} {{.HostConfig.CapDrop}} {{.HostConfig.ReadonlyRootfs}}', server)).toBe('100:101 [ALL] true');
  });

  it('rebuilds and swaps nothing when the input is unchanged', async () => {
    const imagesBefore = serverImages();
    const id = docker('inspect', '-f', '{{.Id}}', server);
    const report = await rebuild();
    expect(report.status).toBe('unchanged');
    expect(statusOf(report)).toMatchObject({ check: 'cached', server: 'cached', swap: 'unchanged' });
    expect(docker('inspect', '-f', '{{.Id}}', server)).toBe(id);
    expect(serverImages()).toBe(imagesBefore);
  });

  it('rebuilds on a changed spec, and the answer changes; the old server is kept stopped', async () => {
    await writeFile(zonesFile, zones('10.0.0.11'));
    const report = await rebuild();
    expect(recipeReportError(report)).toBeUndefined();
    expect(statusOf(report)).toMatchObject({ server: 'done', swap: 'done' });
    expect(report.steps.find((s) => s.id === 'swap')?.cutoverGapMs).toBeTypeOf('number');
    expect(await ask('www.example.test')).toBe('10.0.0.11');
    expect(docker('inspect', '-f', '{{.State.Running}} {{.HostConfig.RestartPolicy.Name}}', `${server}-previous`)).toBe('false no');
  });

  it('registers a container labelled after the last run', async () => {
    startLabelled(`dtool-it-web2-${suffix}`, 'web2.example.test');
    expect(await ask('web2.example.test')).toMatch(/^error/);
    await rebuild();
    expect(await ask('web2.example.test')).toBe(addressOf(`dtool-it-web2-${suffix}`));
  });
});

describe('dns rebuild faults leave the running server answering its old config', () => {
  it('an invalid zone fails validation with the checker naming the zone and line', async () => {
    // A CNAME beside other data at the same name: the generator passes it, named-checkzone does not.
    await writeFile(zonesFile, zones('10.0.0.12', '      - {name: www, type: CNAME, value: api}\n'));
    const report = await rebuild();
    const error = recipeReportError(report);
    expect(report.failedStep).toBe('check');
    expect(error?.code).toBe('VERIFY_FAILED');
    expect([error?.message, ...(error?.details ?? [])].join('\n')).toMatch(/example\.test.*:\d+/);
    expect(statusOf(report)).toMatchObject({ server: 'skipped', swap: 'skipped' });
    expect(await ask('www.example.test')).toBe('10.0.0.11');
  });

  it('a crashing generator builds nothing', async () => {
    await writeFile(zonesFile, 'zones:\n  example.test:\n    records:\n      - {name: www, type: BOGUS, value: x}\n');
    const imagesBefore = serverImages();
    const report = await rebuild();
    expect(report.failedStep).toBe('generate');
    expect(recipeReportError(report)?.code).toBe('HELPER_FAILED');
    expect(serverImages()).toBe(imagesBefore);
    expect(await ask('www.example.test')).toBe('10.0.0.11');
  });

  it('Ctrl-C in the middle leaves no helper container and the server untouched', async () => {
    await writeFile(zonesFile, zones('10.0.0.13'));
    const controller = new AbortController();
    const running = rebuild({ signal: controller.signal });
    await pollUntil(
      () => helperContainers('recipe-generate').length + helperContainers('recipe-check').length,
      (n) => n > 0,
      30_000,
    );
    controller.abort();
    const report = await running;
    expect(report.status).toBe('failed');
    expect(recipeReportError(report)?.code).toBe('ABORTED');
    expect(
      await pollUntil(
        () => helperContainers('recipe-generate').length + helperContainers('recipe-check').length,
        (n) => n === 0,
        10_000,
      ),
    ).toBe(0);
    expect(await ask('www.example.test')).toBe('10.0.0.11');
  });

  it('a second run on the same server fails cleanly while the first holds the lock', async () => {
    await using _held = await acquireLock(join(stateDir, `dns-${server}.lock`), 'test holder');
    const report = rebuild();
    await expect(report).rejects.toMatchObject({ code: 'LOCKED' });
    expect(await ask('www.example.test')).toBe('10.0.0.11');
  });

  it('the CLI says which step failed and exits with its code', async () => {
    await writeFile(zonesFile, zones('10.0.0.14', '      - {name: www, type: CNAME, value: api}\n'));
    const cli = startDtool(['dns', 'rebuild', '--zones', zonesFile, '--network', network, '--name', server, '--state-dir', stateDir]);
    const { code } = await cli.exited;
    expect(code).toBe(7);
    expect(cli.stderr()).toMatch(/step check \(validate\) failed/);
    expect(await ask('www.example.test')).toBe('10.0.0.11');
  });
});
