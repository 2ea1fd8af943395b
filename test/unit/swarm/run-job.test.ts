import { describe, expect, it } from 'vitest';
import type { HelperRunSpec } from '../../../src/core/helper-spec.js';
import type { DockerPort, ImageDetails } from '../../../src/docker/port.js';
import { AbortedError, PartialFailureError, UsageError } from '../../../src/errors.js';
import { parseConstraints } from '../../../src/swarm/constraints.js';
import { NotSwarmManagerError, SwarmUnsupportedError } from '../../../src/swarm/errors.js';
import { swarmReportError } from '../../../src/swarm/report.js';
import { runSwarmJob } from '../../../src/swarm/run-job.js';
import { LABEL_SWARM_JOB } from '../../../src/swarm/service-spec.js';
import { FakeDocker, fakeDeps, swarmNode, swarmTask } from '../../support/fake-docker.js';

const IMAGE = 'dtool/host:test';
const image = (id: string): ImageDetails => ({
  id,
  tags: [IMAGE],
  sizeBytes: 1,
  labels: {},
  env: [],
  cmd: undefined,
  entrypoint: undefined,
  created: '',
});
const spec: HelperRunSpec = { helper: 'host-info', image: IMAGE, command: ['dtool-host-info'], network: { mode: 'none' } };

/** A manager and two workers; each worker's engine is its own FakeDocker, without the image. */
function swarm(options: { signal?: AbortSignal } = {}) {
  const docker = new FakeDocker();
  docker.swarm = { nodeId: 'id-manager', localState: 'active', isManager: true };
  docker.nodes = [swarmNode('manager', { role: 'manager' }), swarmNode('worker1'), swarmNode('worker2')];
  docker.images.set(IMAGE, image('sha256:local'));
  const engines = new Map<string, FakeDocker>();
  for (const name of ['worker1', 'worker2']) {
    const engine = new FakeDocker();
    engine.loads = new Map([[IMAGE, image('sha256:local')]]);
    engines.set(`unix:///run/${name}.sock`, engine);
  }
  // Every node the service may run on (its constraints honoured) completes at once, printing its name.
  docker.tasksFor = (service) =>
    docker.nodes.filter((n) => !(service.TaskTemplate.Placement?.Constraints ?? []).includes(`node.id!=${n.id}`)).map((n) => swarmTask(n.id));
  for (const node of docker.nodes)
    docker.taskOutput.set(`task-${node.id}`, { stdout: `hello from ${node.hostname}\n`, stderr: '', truncated: false });
  const deps = {
    ...fakeDeps({ docker, ...(options.signal ? { signal: options.signal } : {}) }),
    connectEngine: async (address: string): Promise<DockerPort> => {
      const engine = engines.get(address);
      if (!engine) throw new Error(`connect ${address}: ENOENT`);
      return engine;
    },
  };
  return { docker, engines, deps, worker: (name: string) => engines.get(`unix:///run/${name}.sock`)! };
}

const fast = { mode: 'global' as const, pollIntervalMs: 1 };

describe('runSwarmJob', () => {
  it('runs once per node, loads the image where it is missing, reports each node, removes the service', async () => {
    const { docker, deps, worker } = swarm();
    worker('worker2').images.set(IMAGE, image('sha256:local'));
    const report = await runSwarmJob(deps, spec, fast);
    expect(report.ok).toBe(true);
    expect(report.nodes.map((n) => [n.hostname, n.status, n.exitCode, n.stdout])).toEqual([
      ['manager', 'ok', 0, 'hello from manager\n'],
      ['worker1', 'ok', 0, 'hello from worker1\n'],
      ['worker2', 'ok', 0, 'hello from worker2\n'],
    ]);
    expect(worker('worker1').methods()).toContain('loadImage');
    expect(worker('worker2').methods()).not.toContain('loadImage');
    expect(docker.services.size).toBe(1);
    const [serviceId, service] = [...docker.services][0]!;
    expect(service.Mode).toEqual({ GlobalJob: {} });
    expect(service.Labels[LABEL_SWARM_JOB]).toBe(report.runId);
    expect(docker.removedServices).toEqual([serviceId]);
    expect(swarmReportError(report)).toBeUndefined();
  });

  it("removes the job's task containers on every node after removing the service, and those of jobs whose service is gone", async () => {
    const { docker, deps, worker } = swarm();
    // A container of a job still running (another dtool's), and one whose service is gone.
    docker.existingServices.push({ id: 'svc-other', name: 'dtool-other', labels: { [LABEL_SWARM_JOB]: 'other-run' } });
    for (const engine of [docker, worker('worker1'), worker('worker2')]) {
      engine.labelled.push({ name: 'live-job-task', labels: { [LABEL_SWARM_JOB]: 'other-run' } });
      engine.labelled.push({ name: 'dead-job-task', labels: { [LABEL_SWARM_JOB]: 'dead-run' } });
    }
    let ownRunId = '';
    // The job's own task container shows up on each engine once the service exists.
    docker.createService = (async (options) => {
      ownRunId = options.Labels[LABEL_SWARM_JOB]!;
      for (const engine of [docker, worker('worker1'), worker('worker2')])
        engine.labelled.push({ name: 'own-task', labels: { [LABEL_SWARM_JOB]: ownRunId } });
      return FakeDocker.prototype.createService.call(docker, options);
    }) as typeof docker.createService;
    await runSwarmJob(deps, spec, fast);
    for (const engine of [docker, worker('worker1'), worker('worker2')]) {
      expect(engine.removed).toContain('own-task');
      expect(engine.removed).toContain('dead-job-task');
      expect(engine.removed).not.toContain('live-job-task');
    }
    expect(docker.methods().indexOf('removeContainer')).toBeGreaterThan(docker.methods().indexOf('removeService'));
  });

  it('refuses, before any call, a helper a service cannot express', async () => {
    const { docker, deps } = swarm();
    await expect(runSwarmJob(deps, { ...spec, privileges: ['host-sysctl'] }, fast)).rejects.toThrow(SwarmUnsupportedError);
    expect(docker.calls).toEqual([]);
  });

  it('not a manager: a clear usage error, nothing created', async () => {
    const { docker, deps } = swarm();
    docker.swarm = { nodeId: 'id-worker1', localState: 'active', isManager: false };
    await expect(runSwarmJob(deps, spec, fast)).rejects.toThrow(NotSwarmManagerError);
    await expect(runSwarmJob(deps, spec, fast)).rejects.toThrow(/swarm worker, not a manager/);
    docker.swarm = { nodeId: '', localState: 'inactive', isManager: false };
    await expect(runSwarmJob(deps, spec, fast)).rejects.toThrow(/not part of a swarm/);
    expect(docker.methods()).not.toContain('createService');
  });

  it('a constraint no node matches fails before anything is loaded or created', async () => {
    const { docker, deps, worker } = swarm();
    await expect(runSwarmJob(deps, spec, { ...fast, constraints: parseConstraints(['node.hostname==nowhere']) })).rejects.toThrow(UsageError);
    expect(docker.methods()).not.toContain('createService');
    expect(docker.methods()).not.toContain('createSecret');
    expect(worker('worker1').calls).toEqual([]);
  });

  it('constraints select the nodes; the others are not in the report', async () => {
    const { docker, deps } = swarm();
    const report = await runSwarmJob(deps, spec, { ...fast, constraints: parseConstraints(['node.role==worker']) });
    expect(report.nodes.map((n) => n.hostname)).toEqual(['worker1', 'worker2']);
    expect([...docker.services.values()][0]!.TaskTemplate.Placement?.Constraints).toEqual(['node.role==worker']);
  });

  it('a drained node is reported drained and left out; the others run; the job fails naming it', async () => {
    const { docker, deps } = swarm();
    docker.nodes = docker.nodes.map((n) => (n.hostname === 'worker1' ? { ...n, availability: 'drain' } : n));
    const report = await runSwarmJob(deps, spec, fast);
    expect(report.nodes.map((n) => [n.hostname, n.status])).toEqual([
      ['manager', 'ok'],
      ['worker1', 'drained'],
      ['worker2', 'ok'],
    ]);
    expect([...docker.services.values()][0]!.TaskTemplate.Placement?.Constraints).toEqual(['node.id!=id-worker1']);
    const error = swarmReportError(report);
    expect(error).toBeInstanceOf(PartialFailureError);
    expect(error?.message).toBe('1 of 3 failed: worker1 (drained)');
  });

  it('a node down before the run is reported down, without waiting for it', async () => {
    const { deps, docker } = swarm();
    docker.nodes = docker.nodes.map((n) => (n.hostname === 'worker2' ? { ...n, state: 'down' } : n));
    const report = await runSwarmJob(deps, spec, fast);
    expect(report.nodes.find((n) => n.hostname === 'worker2')).toMatchObject({ status: 'down', error: { message: 'node worker2 is down' } });
    expect(report.ok).toBe(false);
  });

  it('a node that goes down mid-run is reported down instead of waited on', async () => {
    const { docker, deps } = swarm();
    docker.tasksFor = () => [swarmTask('id-manager'), swarmTask('id-worker1'), swarmTask('id-worker2', { state: 'running', exitCode: undefined })];
    let listed = 0;
    docker.onListNodes = (nodes) => (++listed > 2 ? nodes.map((n) => (n.hostname === 'worker2' ? { ...n, state: 'down' } : n)) : nodes);
    const report = await runSwarmJob(deps, spec, { ...fast, timeoutMs: 60_000 });
    expect(report.nodes.map((n) => [n.hostname, n.status])).toEqual([
      ['manager', 'ok'],
      ['worker1', 'ok'],
      ['worker2', 'down'],
    ]);
    expect(report.nodes[2]!.error?.message).toMatch(/went down during the run \(task running\)/);
    expect(docker.removedServices).toHaveLength(1);
  });

  it('a node whose image load fails, or has no engine label, is left out and named; the others run', async () => {
    const { docker, deps, worker } = swarm();
    worker('worker1').loadFailure = new Error('no space left on device');
    docker.nodes = docker.nodes.map((n) => (n.hostname === 'worker2' ? { ...n, labels: {} } : n));
    const report = await runSwarmJob(deps, spec, fast);
    expect(report.nodes.map((n) => [n.hostname, n.status])).toEqual([
      ['manager', 'ok'],
      ['worker1', 'image-failed'],
      ['worker2', 'image-failed'],
    ]);
    expect(report.nodes[1]!.error?.message).toMatch(/loading dtool\/host:test into worker1 .* failed: no space left on device/);
    expect(report.nodes[2]!.error?.message).toMatch(/has no dtool.engine label/);
    expect([...docker.services.values()][0]!.TaskTemplate.Placement?.Constraints).toEqual(['node.id!=id-worker1', 'node.id!=id-worker2']);
    expect(swarmReportError(report)?.message).toBe('2 of 3 failed: worker1 (image-failed), worker2 (image-failed)');
  });

  it('no node left to run on: no service at all, every node reported', async () => {
    const { docker, deps } = swarm();
    docker.nodes = docker.nodes.map((n) => ({ ...n, availability: 'drain' }));
    const report = await runSwarmJob(deps, spec, fast);
    expect(report.nodes.every((n) => n.status === 'drained')).toBe(true);
    expect(docker.methods()).not.toContain('createService');
  });

  it('a failed task reports its exit code and the last line of its stderr', async () => {
    const { docker, deps } = swarm();
    docker.tasksFor = () => [
      swarmTask('id-manager'),
      swarmTask('id-worker1', { state: 'failed', exitCode: 3, error: 'task: non-zero exit (3)' }),
      swarmTask('id-worker2'),
    ];
    docker.taskOutput.set('task-id-worker1', { stdout: '', stderr: 'first\ncannot read /srv\n', truncated: false });
    const report = await runSwarmJob(deps, spec, fast);
    expect(report.nodes[1]).toMatchObject({
      status: 'failed',
      exitCode: 3,
      error: { code: 'HELPER_FAILED', message: 'exited with code 3: cannot read /srv' },
    });
  });

  it('a rejected task (e.g. a bind source missing on the node) says why', async () => {
    const { docker, deps } = swarm();
    docker.tasksFor = () => [
      swarmTask('id-manager'),
      swarmTask('id-worker1', {
        state: 'rejected',
        exitCode: undefined,
        containerId: '',
        error: 'invalid mount config: bind source path does not exist: /srv',
      }),
      swarmTask('id-worker2'),
    ];
    const report = await runSwarmJob(deps, spec, fast);
    expect(report.nodes[1]).toMatchObject({
      status: 'failed',
      error: { message: 'task rejected: invalid mount config: bind source path does not exist: /srv' },
    });
  });

  it('times out per node, and still removes the service', async () => {
    const { docker, deps } = swarm();
    docker.tasksFor = () => [swarmTask('id-manager'), swarmTask('id-worker1', { state: 'running', exitCode: undefined }), swarmTask('id-worker2')];
    const report = await runSwarmJob(deps, spec, { ...fast, timeoutMs: 20 });
    expect(report.nodes[1]).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
    expect(swarmReportError(report)?.code).toBe('PARTIAL_FAILURE');
    expect(docker.removedServices).toHaveLength(1);
  });

  it('Ctrl-C stops waiting, removes the service and its secrets, and says interrupted', async () => {
    const controller = new AbortController();
    const { docker, deps } = swarm({ signal: controller.signal });
    docker.tasksFor = (_service, poll) => {
      if (poll === 2) controller.abort();
      return [swarmTask('id-manager', { state: 'running' })];
    };
    await expect(runSwarmJob(deps, { ...spec, secrets: [{ name: 'pw', content: 's3cret' }] }, fast)).rejects.toThrow(AbortedError);
    expect(docker.removedServices).toHaveLength(1);
    expect(docker.removedSecrets).toEqual([...docker.secrets.keys()]);
  });

  it('secrets become labelled swarm secrets, removed after the job', async () => {
    const { docker, deps } = swarm();
    const report = await runSwarmJob(deps, { ...spec, secrets: [{ name: 'db.cnf', content: '[client]\npassword=x\n' }] }, fast);
    const [[secretId, secret]] = [...docker.secrets];
    expect(secret).toMatchObject({ name: `dtool-${report.runId}-db.cnf`, data: '[client]\npassword=x\n' });
    expect(secret!.labels[LABEL_SWARM_JOB]).toBe(report.runId);
    expect(docker.removedSecrets).toEqual([secretId]);
    expect(docker.methods().lastIndexOf('removeSecret')).toBeGreaterThan(docker.methods().lastIndexOf('removeService'));
  });

  it('with a registry: tags and pushes, loads nothing, and the nodes run the registry reference', async () => {
    const { docker, deps, worker } = swarm();
    const report = await runSwarmJob(deps, spec, { ...fast, registry: 'registry.example:5000' });
    expect(docker.pushed).toEqual(['registry.example:5000/dtool/host:test']);
    expect(worker('worker1').methods()).not.toContain('loadImage');
    expect([...docker.services.values()][0]!.TaskTemplate.ContainerSpec.Image).toBe('registry.example:5000/dtool/host:test');
    expect(report.image).toBe('registry.example:5000/dtool/host:test');
  });

  it('sweeps the swarm jobs and secrets of dead dtool runs of this host first', async () => {
    const { docker, deps } = swarm();
    const dead = {
      'dtool.owner.host': 'test-host',
      'dtool.owner.boot-id': 'boot-1',
      'dtool.owner.pid': '999',
      'dtool.owner.start-ticks': '5',
      [LABEL_SWARM_JOB]: 'old',
    };
    const elsewhere = { ...dead, 'dtool.owner.host': 'other-host' };
    docker.existingServices.push(
      { id: 'svc-dead', name: 'dtool-host-info-old', labels: dead },
      { id: 'svc-other', name: 'theirs', labels: elsewhere },
    );
    docker.existingSecrets.push({ id: 'sec-dead', name: 'dtool-old-pw', labels: dead });
    await runSwarmJob(deps, spec, fast);
    expect(docker.removedServices).toContain('svc-dead');
    expect(docker.removedServices).not.toContain('svc-other');
    expect(docker.removedSecrets).toContain('sec-dead');
  });
});
