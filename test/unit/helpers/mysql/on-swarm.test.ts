import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/errors.js';
import { parseBackupParams } from '../../../../src/helpers/mysql/backup.js';
import { parseDbInitParams } from '../../../../src/helpers/mysql/db-init.js';
import { backupOnSwarm, dbInitOnSwarm } from '../../../../src/helpers/mysql/on-swarm.js';
import { FakeDocker, fakeDeps } from '../../../support/fake-docker.js';

describe('backup and db-init --swarm', () => {
  const deps = () => {
    const docker = new FakeDocker();
    docker.swarm = { nodeId: 'id-manager', localState: 'active', isManager: true };
    return fakeDeps({ docker });
  };

  it('refuses --label (it selects the containers of one engine) and --registry, before any engine call', async () => {
    const d = deps();
    const params = parseBackupParams({ label: ['role=db'], out: '/srv/backups', credentials: '/c.cnf' }, '/');
    await expect(backupOnSwarm(d, params, { constraints: [] })).rejects.toThrow(/--link SERVICE/);
    const linked = parseBackupParams({ link: ['db'], out: '/srv/backups', credentials: '/c.cnf' }, '/');
    await expect(backupOnSwarm(d, linked, { constraints: [], registry: 'registry.local:5000' })).rejects.toThrow(UsageError);
    expect((d.docker as FakeDocker).calls).toEqual([]);
  });

  it('refuses a data volume target: it belongs to one engine', async () => {
    const params = parseDbInitParams({ datadirVolume: 'dbdata', database: 'app', rootPasswordFile: '/pw' }, '/');
    await expect(dbInitOnSwarm(deps(), params, { constraints: [] })).rejects.toThrow(/--link SERVICE/);
  });

  it('reports a service that runs nowhere as a failed target, naming it', async () => {
    const params = parseBackupParams({ link: ['db'], out: '/srv/backups', credentials: '/c.cnf' }, '/');
    const report = await backupOnSwarm(deps(), params, { constraints: [] });
    expect(report.ok).toBe(false);
    expect(report.targets[0]).toMatchObject({ target: 'db', status: 'failed' });
    expect(report.targets[0]?.error?.message).toMatch(/service db has no running task/);
  });
});
