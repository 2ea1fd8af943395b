import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { globFolder, parseSwarmLogrotateParams, swarmStateKey } from '../../../src/helpers/logrotate/swarm.js';

describe('logrotate --swarm targets host folders', () => {
  it("a glob's folder is its literal part, never the file", () => {
    expect(globFolder('/var/log/app/*.log')).toBe('/var/log/app');
    expect(globFolder('/var/log/*/*log')).toBe('/var/log');
    expect(globFolder('/srv/app.log')).toBe('/srv');
  });

  it('binds the outermost folders only, in copytruncate mode', () => {
    const params = parseSwarmLogrotateParams({ path: ['/var/log/app/*.log', '/var/log/app/sub/*.log', '/srv/logs/*.log'], force: true }, '/');
    expect(params.folders).toEqual(['/srv/logs', '/var/log/app']);
    expect(params.settings.mode).toBe('copytruncate');
    expect(params.force).toBe(true);
    expect(swarmStateKey(params.folders)).toMatch(/^swarm-[0-9a-f]{12}$/);
  });

  it('refuses container targets, signal mode, and a missing --path, before anything runs', () => {
    expect(() => parseSwarmLogrotateParams({ volumesFrom: 'app', path: '/var/log/a/*.log' }, '/')).toThrow(
      /--volumes-from and --label name containers/,
    );
    expect(() => parseSwarmLogrotateParams({ label: 'x=y', path: '/var/log/a/*.log' }, '/')).toThrow(UsageError);
    expect(() => parseSwarmLogrotateParams({ path: '/var/log/a/*.log', signal: 'HUP' }, '/')).toThrow(/no container to signal/);
    expect(() => parseSwarmLogrotateParams({}, '/')).toThrow(/needs --path/);
  });

  it("refuses what container targets refuse: Docker's own logs", () => {
    expect(() => parseSwarmLogrotateParams({ path: '/var/lib/docker/containers/*/*.log' }, '/')).toThrow(/json-file logs/);
  });
});
