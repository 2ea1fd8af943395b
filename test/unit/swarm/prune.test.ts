import { describe, expect, it } from 'vitest';
import { pruneSwarm } from '../../../src/run/prune.js';
import { LABEL_SWARM_JOB } from '../../../src/swarm/service-spec.js';
import { FakeDocker, fakeDeps } from '../../support/fake-docker.js';

describe('dtool prune --swarm', () => {
  it('removes every dtool swarm job and secret, by label only, services first; --dry-run only lists them', async () => {
    const docker = new FakeDocker();
    const labels = { 'dtool.managed': '0.1.0', [LABEL_SWARM_JOB]: 'r1', 'dtool.owner.host': 'elsewhere', 'dtool.owner.pid': '1' };
    docker.existingServices.push({ id: 's1', name: 'dtool-host-info-r1', labels }, { id: 's2', name: 'someone-elses', labels: {} });
    docker.existingSecrets.push({ id: 'x1', name: 'dtool-r1-pw', labels });
    const deps = fakeDeps({ docker });
    expect(await pruneSwarm(deps, { dryRun: true })).toEqual({ services: ['dtool-host-info-r1'], secrets: ['dtool-r1-pw'] });
    expect(docker.removedServices).toEqual([]);
    expect(await pruneSwarm(deps)).toEqual({ services: ['dtool-host-info-r1'], secrets: ['dtool-r1-pw'] });
    expect(docker.removedServices).toEqual(['s1']);
    expect(docker.removedSecrets).toEqual(['x1']);
    expect(docker.methods().indexOf('removeSecret')).toBeGreaterThan(docker.methods().indexOf('removeService'));
  });
});
