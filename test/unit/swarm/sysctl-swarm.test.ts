/** `dtool sysctl … --swarm`: status reads every node (no privilege); set and apply are refused before anything runs. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/cli/context.js';
import { runCli } from '../../../src/cli/program.js';
import type { CliIo } from '../../../src/cli/render.js';
import type { DockerPort, ImageDetails } from '../../../src/docker/port.js';
import { EXIT_CODES, exitCodeFor } from '../../../src/errors.js';
import { swarmSysctlStatusError, swarmWriteRefusal, sysctlStatusOnSwarm } from '../../../src/helpers/sysctl/swarm.js';
import { FakeDocker, fakeDeps, swarmNode, swarmTask } from '../../support/fake-docker.js';

const IMAGE = 'dtool/host:test';
const image: ImageDetails = {
  id: 'sha256:host',
  tags: [IMAGE],
  sizeBytes: 1,
  labels: {},
  env: [],
  cmd: undefined,
  entrypoint: undefined,
  created: '',
};

/** A manager and two workers that already have the image; each node prints its own values. */
function swarm(values: Record<string, string>) {
  const docker = new FakeDocker();
  docker.swarm = { nodeId: 'id-manager', localState: 'active', isManager: true };
  docker.nodes = [swarmNode('manager', { role: 'manager' }), swarmNode('worker1'), swarmNode('worker2')];
  docker.images.set(IMAGE, image);
  docker.tasksFor = () => docker.nodes.map((n) => swarmTask(n.id));
  for (const node of docker.nodes) docker.taskOutput.set(`task-${node.id}`, { stdout: values[node.hostname] ?? '', stderr: '', truncated: false });
  const worker = new FakeDocker();
  worker.images.set(IMAGE, image);
  const deps = { ...fakeDeps({ docker }), connectEngine: async (): Promise<DockerPort> => worker };
  return { docker, deps };
}

const desired = {
  source: 'db.yaml',
  settings: [
    { key: 'vm.swappiness', value: '10' },
    { key: 'net.core.somaxconn', value: '4096' },
  ],
};
const inSync = 'vm.swappiness\t10\nnet.core.somaxconn\t4096\n';

describe('sysctlStatusOnSwarm', () => {
  it('runs the read helper as a global job with no privilege (host network for net.* keys): one report per node', async () => {
    const { docker, deps } = swarm({ manager: inSync, worker1: inSync, worker2: inSync });
    const report = await sysctlStatusOnSwarm(deps, desired, { constraints: [] });
    expect(report.ok).toBe(true);
    expect(report.drifted).toEqual([]);
    expect(report.nodes.map((n) => [n.hostname, n.status, n.rows?.map((r) => r.inSync)])).toEqual([
      ['manager', 'ok', [true, true]],
      ['worker1', 'ok', [true, true]],
      ['worker2', 'ok', [true, true]],
    ]);
    const service = [...docker.services.values()][0]!;
    expect(service.Mode).toEqual({ GlobalJob: {} });
    expect(service.TaskTemplate.ContainerSpec.Args).toEqual(['dtool-sysctl', 'get', 'vm.swappiness', 'net.core.somaxconn']);
    expect(service.TaskTemplate.ContainerSpec.CapabilityDrop).toEqual(['ALL']);
    expect(service.TaskTemplate.ContainerSpec.CapabilityAdd).toBeUndefined();
    expect(service.TaskTemplate.Networks).toEqual([{ Target: 'host' }]);
    expect(swarmSysctlStatusError(report)).toBeUndefined();
  });

  it('drift on one node: exit 7 naming the node and the key', async () => {
    const { deps } = swarm({ manager: inSync, worker1: 'vm.swappiness\t60\nnet.core.somaxconn\t4096\n', worker2: inSync });
    const report = await sysctlStatusOnSwarm(deps, desired, { constraints: [] });
    expect(report.ok).toBe(false);
    expect(report.drifted).toEqual(['worker1']);
    const error = swarmSysctlStatusError(report)!;
    expect(exitCodeFor(error)).toBe(EXIT_CODES.VERIFY_FAILED);
    expect(error.message).toBe('1 of 3 nodes drifted (vm.swappiness): worker1');
    expect(error.details).toEqual(['worker1: vm.swappiness is 60, desired 10']);
  });

  it('a node that printed no value for a key is failed (exit 8), drift elsewhere in the details', async () => {
    const { deps } = swarm({ manager: inSync, worker1: 'vm.swappiness\t60\nnet.core.somaxconn\t4096\n', worker2: 'vm.swappiness\t10\n' });
    const report = await sysctlStatusOnSwarm(deps, desired, { constraints: [] });
    expect(report.nodes[2]).toMatchObject({ status: 'failed', error: { message: 'dtool-sysctl get printed no value for net.core.somaxconn' } });
    const error = swarmSysctlStatusError(report)!;
    expect(exitCodeFor(error)).toBe(EXIT_CODES.PARTIAL_FAILURE);
    expect(error.message).toContain('worker2 (failed)');
    expect(error.details).toContain('worker1: vm.swappiness is 60, desired 10');
  });

  it('refuses keys it would refuse without --swarm, before anything runs', async () => {
    const { docker, deps } = swarm({});
    await expect(
      sysctlStatusOnSwarm(deps, { source: 'x', settings: [{ key: 'kernel.core_pattern', value: 'core' }] }, { constraints: [] }),
    ).rejects.toThrow(/kernel\.core_pattern/);
    expect(docker.services.size).toBe(0);
  });
});

function fakeCli() {
  const io: CliIo = { stdout: () => {}, stderr: () => {}, interactive: false, env: {}, cwd: '/' };
  const docker = new FakeDocker();
  return { docker, context: createContext(io, new AbortController().signal, docker) };
}

async function failure(args: string[]) {
  const cli = fakeCli();
  const error = (await runCli(args, cli.context).then(
    () => undefined,
    (caught: unknown) => caught,
  )) as { code: string; message: string; hint?: string };
  expect(error).toBeDefined();
  // Nothing reached the engine beyond the start-up orphan sweep.
  expect(cli.docker.methods().filter((m) => m !== 'listContainers')).toEqual([]);
  return error;
}

describe('dtool sysctl set|apply --swarm', () => {
  it('set --swarm is refused with the reason and a hint (exit 2), even with the grant', async () => {
    const error = await failure(['--allow', 'host-sysctl', 'sysctl', 'set', 'vm.swappiness=10', '--swarm']);
    expect(exitCodeFor(error as never)).toBe(EXIT_CODES.USAGE);
    expect(error.message).toMatch(/sysctl set --swarm is not possible: .*a Swarm service cannot get a writable \/proc\/sys \(API 1\.41/);
    expect(error.hint).toMatch(/DOCKER_HOST=unix:\/\/\/…\/docker\.sock dtool --allow host-sysctl sysctl set/);
  });

  it('apply --swarm is refused the same way, before the profile is read', async () => {
    const error = await failure(['sysctl', 'apply', '--profile', '/no/such/profile.yaml', '--swarm']);
    expect(exitCodeFor(error as never)).toBe(EXIT_CODES.USAGE);
    expect(error.message).toContain('sysctl apply --swarm is not possible');
    expect(swarmWriteRefusal('apply').message).toBe(error.message);
  });

  it('status --swarm needs --profile, and refuses --state-dir', async () => {
    expect((await failure(['sysctl', 'status', '--swarm'])).message).toContain('needs --profile FILE');
    const dir = mkdtempSync(join(tmpdir(), 'dtool-sysctl-swarm-'));
    writeFileSync(join(dir, 'p.yaml'), 'profile: p\nsysctls:\n  vm.swappiness: 10\n');
    expect((await failure(['sysctl', 'status', '--swarm', '--profile', join(dir, 'p.yaml'), '--state-dir', dir])).message).toContain(
      '--state-dir holds the runs',
    );
    expect((await failure(['sysctl', 'status', '--constraint', 'node.role==worker'])).message).toContain('--constraint applies to --swarm only');
  });
});
