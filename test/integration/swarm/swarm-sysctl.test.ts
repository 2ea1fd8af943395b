/** `dtool sysctl status --swarm` on a real 3-node swarm: the read helper on every node, drift per node; writes refused. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../../src/errors.js';
import { dtoolOn, onNodeHost } from './swarm-cli.js';
import { SWARM_MANAGER, SWARM_WORKERS, type Swarm, dockerOn, engineAddress, ensureSwarm } from './swarm-fixture.js';

const NODES = [SWARM_MANAGER, ...SWARM_WORKERS];
let swarm: Swarm;
let dir: string;
/** vm.swappiness is the kernel's, shared by the nodes (containers on this machine); somaxconn is per network namespace. */
let swappiness: string;
let somaxconn: Map<string, string>;

function profile(name: string, settings: Record<string, string>): string {
  const file = join(dir, `${name}.sysctl.yaml`);
  writeFileSync(
    file,
    `profile: ${name}\nsysctls:\n${Object.entries(settings)
      .map(([k, v]) => `  ${k}: ${v}\n`)
      .join('')}`,
  );
  return file;
}

beforeAll(async () => {
  swarm = await ensureSwarm();
  dir = mkdtempSync(join(tmpdir(), 'dtool-it-swarm-sysctl-'));
  swappiness = readFileSync('/proc/sys/vm/swappiness', 'utf8').trim();
  somaxconn = new Map(NODES.map((node) => [node, onNodeHost(node, 'cat /proc/sys/net/core/somaxconn')]));
});

/**
 * Nothing of these tests' jobs is left (expectNothingLeft, narrowed to the sysctl helper: other
 * suites may share this swarm and have jobs of their own in flight).
 */
afterEach(async () => {
  const mine = ['--filter', 'label=dtool.swarm-job', '--filter', 'label=dtool.helper=sysctl'];
  expect(await dockerOn(swarm.managerAddress, ['service', 'ls', '-q', ...mine])).toBe('');
  for (const node of NODES) expect(await dockerOn(engineAddress(node), ['ps', '-aq', ...mine])).toBe('');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('dtool sysctl --swarm', () => {
  it('status --swarm: three node reports, all in sync (no privilege: nothing to --allow)', async () => {
    const file = profile('in-sync', { 'vm.swappiness': swappiness });
    const result = await dtoolOn(swarm.managerAddress, ['sysctl', 'status', '--swarm', '--profile', file, '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    expect(report.drifted).toEqual([]);
    expect(report.nodes.map((n: { hostname: string }) => n.hostname).sort()).toEqual([...NODES].sort());
    for (const node of report.nodes) {
      expect(node.status).toBe('ok');
      expect(node.rows).toEqual([{ key: 'vm.swappiness', desired: swappiness, actual: swappiness, inSync: true, source: file }]);
    }
  });

  it("status --swarm: drift on every node is exit 7, each node and key named; net.* read from each node's own network", async () => {
    const other = swappiness === '200' ? '199' : String(Number(swappiness) + 1);
    const file = profile('drift', { 'vm.swappiness': other, 'net.core.somaxconn': somaxconn.get(SWARM_MANAGER)! });
    const result = await dtoolOn(swarm.managerAddress, ['sysctl', 'status', '--swarm', '--profile', file]);
    expect(result.exitCode).toBe(EXIT_CODES.VERIFY_FAILED);
    expect(result.stdout).toMatch(/^NODE\s+STATUS\s+KEY\s+DESIRED\s+ACTUAL\s+STATE/);
    for (const node of NODES) {
      expect(result.stdout).toMatch(new RegExp(`${node}\\s+ok\\s+vm\\.swappiness\\s+${other}\\s+${swappiness}\\s+DRIFT`));
      expect(result.stdout).toMatch(new RegExp(`${node}\\s+ok\\s+net\\.core\\.somaxconn\\s+\\d+\\s+${somaxconn.get(node)}\\s`));
      expect(result.stderr).toContain(`${node}: vm.swappiness is ${swappiness}, desired ${other}`);
    }
    expect(result.stderr).toContain('3 of 3 nodes drifted (vm.swappiness');
    // Read-only: nothing changed.
    expect(readFileSync('/proc/sys/vm/swappiness', 'utf8').trim()).toBe(swappiness);
  });

  it('set --swarm and apply --swarm are refused with the reason, nothing created', async () => {
    const set = await dtoolOn(swarm.managerAddress, ['--allow', 'host-sysctl', 'sysctl', 'set', 'vm.swappiness=10', '--swarm']);
    expect(set.exitCode).toBe(EXIT_CODES.USAGE);
    expect(set.stderr).toContain('a Swarm service cannot get a writable /proc/sys');
    const apply = await dtoolOn(swarm.managerAddress, ['sysctl', 'apply', '--profile', profile('x', { 'vm.swappiness': '10' }), '--swarm']);
    expect(apply.exitCode).toBe(EXIT_CODES.USAGE);
    expect(apply.stderr).toContain("run it against each node's engine");
    expect(readFileSync('/proc/sys/vm/swappiness', 'utf8').trim()).toBe(swappiness);
  });
});
