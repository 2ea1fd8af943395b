/**
 * Faults on a real 3-node swarm: a drained node, a node stopped mid-run, a node whose image
 * load fails. Each is reported by name, the other nodes still run, the job fails (exit 8),
 * and the swarm is put back as it was.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HelperRunSpec } from '../../../src/core/helper-spec.js';
import { createDefaultDeps } from '../../../src/deps.js';
import { DockerodeAdapter } from '../../../src/docker/dockerode-adapter.js';
import { EXIT_CODES } from '../../../src/errors.js';
import { runSwarmJob } from '../../../src/swarm/run-job.js';
import { dtoolOn, expectNothingLeft } from './swarm-cli.js';
import { SWARM_MANAGER, SWARM_WORKERS, type Swarm, dockerOn, engineAddress, ensureSwarm, nodeState, startNode, stopNode } from './swarm-fixture.js';

const [WORKER1, WORKER2] = SWARM_WORKERS;
let swarm: Swarm;

interface NodeResult {
  readonly hostname: string;
  readonly status: string;
  readonly error?: { readonly message: string };
}

const statuses = (nodes: readonly NodeResult[]) => Object.fromEntries(nodes.map((n) => [n.hostname, n.status]));

beforeAll(async () => {
  swarm = await ensureSwarm();
});

afterEach(async () => {
  await expectNothingLeft(swarm.managerAddress);
});

afterAll(async () => {
  // Whatever a failed test left: every node active, labelled with its own engine, and up.
  for (const worker of SWARM_WORKERS) {
    if ((await nodeState(worker).catch(() => 'down')) !== 'ready') await startNode(worker);
    await dockerOn(swarm.managerAddress, [
      'node',
      'update',
      '--availability',
      'active',
      '--label-add',
      `dtool.engine=${engineAddress(worker)}`,
      worker,
    ]);
  }
});

describe('swarm faults', () => {
  it('a drained node is reported drained, the others ok, exit 8 naming it', async () => {
    await dockerOn(swarm.managerAddress, ['node', 'update', '--availability', 'drain', WORKER2]);
    try {
      const result = await dtoolOn(swarm.managerAddress, ['host', 'info', '--swarm', '--json']);
      expect(result.exitCode).toBe(EXIT_CODES.PARTIAL_FAILURE);
      expect(result.stderr).toContain(`1 of 3 failed: ${WORKER2} (drained)`);
      const report = JSON.parse(result.stdout);
      expect(statuses(report.nodes)).toEqual({ [SWARM_MANAGER]: 'ok', [WORKER1]: 'ok', [WORKER2]: 'drained' });
    } finally {
      await dockerOn(swarm.managerAddress, ['node', 'update', '--availability', 'active', WORKER2]);
    }
  });

  it('a node whose image load fails is named, the others ok', async () => {
    // Its engine address is wrong: dtool cannot reach it to load the image.
    await dockerOn(swarm.managerAddress, ['node', 'update', '--label-add', 'dtool.engine=unix:///run/dtool-swarm/no-such-node/docker.sock', WORKER1]);
    try {
      const result = await dtoolOn(swarm.managerAddress, ['host', 'info', '--swarm', '--json']);
      expect(result.exitCode).toBe(EXIT_CODES.PARTIAL_FAILURE);
      expect(result.stderr).toContain(`${WORKER1} (image-failed)`);
      const report = JSON.parse(result.stdout);
      expect(statuses(report.nodes)).toEqual({ [SWARM_MANAGER]: 'ok', [WORKER1]: 'image-failed', [WORKER2]: 'ok' });
      expect(report.nodes.find((n: NodeResult) => n.hostname === WORKER1).error.message).toContain('no-such-node');
    } finally {
      await dockerOn(swarm.managerAddress, ['node', 'update', '--label-add', `dtool.engine=${engineAddress(WORKER1)}`, WORKER1]);
    }
  });

  it('a node stopped in the middle of a run is reported down; the others finish', async () => {
    const deps = await createDefaultDeps({ docker: new DockerodeAdapter({ socketPath: new URL(swarm.managerAddress).pathname }) });
    // debian:bookworm-slim is on every node already: nothing to load.
    const sleeper: HelperRunSpec = { helper: 'swarm-it-sleep', image: 'debian:bookworm-slim', command: ['sleep', '25'], guarded: false };
    const running = runSwarmJob(deps, sleeper, { mode: 'global', timeoutMs: 180_000 });
    try {
      // Once its task runs on the worker, the worker goes away.
      for (let i = 0; i < 60; i++) {
        const ps = await dockerOn(swarm.managerAddress, ['node', 'ps', WORKER2, '--format', '{{.Name}} {{.CurrentState}}']).catch(() => '');
        if (/swarm-it-sleep.*Running/.test(ps)) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      await stopNode(WORKER2);
      const report = await running;
      expect(statuses(report.nodes)).toEqual({ [SWARM_MANAGER]: 'ok', [WORKER1]: 'ok', [WORKER2]: 'down' });
      expect(report.ok).toBe(false);
      expect(report.nodes.find((n) => n.hostname === WORKER2)?.error?.message).toContain('went down during the run');
    } finally {
      await running.catch(() => undefined);
      await startNode(WORKER2);
    }
  });
});
