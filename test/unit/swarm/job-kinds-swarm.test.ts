import { describe, expect, it } from 'vitest';
import { createJobKinds } from '../../../src/job-kinds.js';

// Schedule files: `with: { swarm: true, constraint: [...], registry: ... }` on host-info and logrotate jobs.
describe('scheduled jobs on a swarm', () => {
  const kinds = createJobKinds('/');

  it('host-info and logrotate take swarm, constraint and registry', async () => {
    await expect(kinds.checkAsync('host-info', { swarm: true, constraint: ['node.role==worker'] })).resolves.toBeUndefined();
    await expect(
      kinds.checkAsync('logrotate', { swarm: true, path: '/var/log/app/*.log', registry: 'registry.example:5000' }),
    ).resolves.toBeUndefined();
  });

  it('refuses what a swarm job cannot be, when the file is checked', async () => {
    await expect(kinds.checkAsync('host-info', { constraint: 'node.role==worker' })).rejects.toThrow('constraint applies to swarm only');
    await expect(kinds.checkAsync('host-info', { swarm: true, constraint: 'node.rolle==worker' })).rejects.toThrow(/unknown key/);
    await expect(kinds.checkAsync('logrotate', { swarm: true, 'volumes-from': 'app', path: '/var/log/a/*.log' })).rejects.toThrow(/name containers/);
    await expect(kinds.checkAsync('host-info', { swarm: 'yes' })).rejects.toThrow(/swarm is true or false/);
  });
});
