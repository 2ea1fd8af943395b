import { describe, expect, it } from 'vitest';
import type { DockerPort } from '../../../src/docker/port.js';
import { pruneSwarm } from '../../../src/run/prune.js';
import { LABEL_SWARM_JOB } from '../../../src/swarm/service-spec.js';
import { FakeDocker, fakeDeps, swarmNode } from '../../support/fake-docker.js';

describe('dtool prune --swarm', () => {
  it('removes every dtool swarm job and secret, by label only, services first, then the job containers left on the nodes; --dry-run only lists', async () => {
    const docker = new FakeDocker();
    docker.swarm = { nodeId: 'id-manager', localState: 'active', isManager: true };
    docker.nodes = [swarmNode('manager', { role: 'manager' }), swarmNode('worker1'), swarmNode('worker2', { labels: {} })];
    const labels = { 'dtool.managed': '0.1.0', [LABEL_SWARM_JOB]: 'r1', 'dtool.owner.host': 'elsewhere', 'dtool.owner.pid': '1' };
    docker.existingServices.push({ id: 's1', name: 'dtool-host-info-r1', labels }, { id: 's2', name: 'someone-elses', labels: {} });
    docker.existingSecrets.push({ id: 'x1', name: 'dtool-r1-pw', labels });
    const worker1 = new FakeDocker();
    worker1.labelled.push({ name: 'dtool-host-info-r1.1.task', labels }, { name: 'someone-elses-task', labels: {} });
    const deps = {
      ...fakeDeps({ docker }),
      connectEngine: async (address: string): Promise<DockerPort> => {
        if (address !== 'unix:///run/worker1.sock') throw new Error(`unexpected ${address}`);
        return worker1;
      },
    };
    const expected = {
      services: ['dtool-host-info-r1'],
      secrets: ['dtool-r1-pw'],
      containers: ['worker1/dtool-host-info-r1.1.task'],
      unreachable: ['worker2 (no dtool.engine label)'],
    };
    expect(await pruneSwarm(deps, { dryRun: true })).toEqual(expected);
    expect(docker.removedServices).toEqual([]);
    expect(worker1.removed).toEqual([]);
    expect(await pruneSwarm(deps)).toEqual(expected);
    expect(docker.removedServices).toEqual(['s1']);
    expect(docker.removedSecrets).toEqual(['x1']);
    expect(worker1.removed).toEqual(['dtool-host-info-r1.1.task']);
    expect(docker.methods().indexOf('removeSecret')).toBeGreaterThan(docker.methods().indexOf('removeService'));
  });
});
