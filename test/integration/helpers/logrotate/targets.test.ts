/**
 * Targets and state on the real engine: nothing to rotate, a missing target, files of
 * several owners, Docker's own log folder refused, and logrotate's state kept across runs
 * in the per-target volume.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../../../src/errors.js';
import { logrotate, logrotateReportError, parseLogrotateParams, type RawLogrotateOptions } from '../../../../src/helpers/logrotate/index.js';
import { TEST_LABEL, dtoolContainers, testDeps } from '../../support.js';
import {
  APP_UID,
  BASE_IMAGE,
  docker,
  inVolume,
  isRunning,
  ownedVolume,
  removeContainers,
  removeVolumes,
  startIdleTarget,
  uniqueName,
} from './fixtures.js';

const containers: string[] = [];
const volumes: string[] = [];

afterAll(() => {
  removeContainers(...containers);
  removeVolumes(...volumes);
});

/** An idle target with /var/log/app on a fresh volume, prepared by `setup` (run as root in the volume at /v). */
function target(setup: string, labels: Record<string, string> = {}): { name: string; volume: string } {
  const name = uniqueName('lr-it-target');
  const volume = ownedVolume(uniqueName('lr-it-logs'));
  containers.push(name);
  volumes.push(volume, `dtool-logrotate-state-${name}`);
  if (setup) inVolume(volume, setup);
  startIdleTarget(name, volume, labels);
  return { name, volume };
}

async function rotate(raw: RawLogrotateOptions) {
  return logrotate(await testDeps(), parseLogrotateParams(raw, process.cwd()));
}

describe('logrotate targets', () => {
  it('a target without matching files is ok, with nothing rotated and no signal sent', async () => {
    const { name } = target(`echo notes > /v/notes.txt && chown ${APP_UID}:${APP_UID} /v/notes.txt`);
    const report = await rotate({ volumesFrom: [name], signal: 'HUP', force: true });
    expect(report.ok).toBe(true);
    expect(report.targets[0]).toMatchObject({
      status: 'ok',
      mode: 'signal',
      files: [],
      signal: { name: 'SIGHUP', sent: false, reason: 'nothing was rotated' },
    });
    // tini would have passed a SIGHUP on to `sleep`, and the target would have ended.
    expect(isRunning(name)).toBe(true);
    expect(await dtoolContainers((await testDeps()).docker)).toEqual([]);
  });

  it('a --volumes-from target that does not exist is a not-found error naming it', async () => {
    const report = await rotate({ volumesFrom: ['lr-it-no-such-container'] });
    expect(report.ok).toBe(false);
    expect(report.targets[0]!.error).toMatchObject({ code: 'NOT_FOUND', message: '--volumes-from lr-it-no-such-container: no such container' });
    expect(exitCodeFor(logrotateReportError(report))).toBe(4);
  });

  it('rotates the files of each owner as that owner', async () => {
    const setup = [
      'mkdir /v/a /v/b',
      'seq 1 100 > /v/a/a.log && chown -R 1000:1000 /v/a',
      'seq 1 100 > /v/b/b.log && chown -R 1001:1002 /v/b',
      'chmod 755 /v',
    ].join(' && ');
    const { name, volume } = target(setup);
    const report = await rotate({ volumesFrom: [name], path: ['/var/log/app/*/*.log'], force: true });
    expect(report.targets[0]?.error).toBeUndefined();
    expect(report.targets[0]!.files).toEqual([
      { path: '/var/log/app/a/a.log', owner: '1000:1000', rotated: true, bytes: 292, lostBytes: 0 },
      { path: '/var/log/app/b/b.log', owner: '1001:1002', rotated: true, bytes: 292, lostBytes: 0 },
    ]);
    expect(inVolume(volume, 'cd /v && stat -c "%n %u:%g %s" a/a.log a/a.log.1 b/b.log b/b.log.1').trim().split('\n')).toEqual([
      'a/a.log 1000:1000 0',
      'a/a.log.1 1000:1000 292',
      'b/b.log 1001:1002 0',
      'b/b.log.1 1001:1002 292',
    ]);
  });

  it("refuses, naming why, a target that mounts Docker's own log folder within the globs' reach", async () => {
    const name = uniqueName('lr-it-shipper');
    containers.push(name);
    docker(
      'run',
      '-d',
      '--init',
      '--name',
      name,
      '--label',
      `${TEST_LABEL}=true`,
      '-v',
      '/var/lib/docker/containers:/var/log/docker:ro',
      BASE_IMAGE,
      'sleep',
      'infinity',
    );
    const report = await rotate({ volumesFrom: [name], path: ['/var/log/docker/*/*-json.log'], force: true });
    expect(report.targets[0]!.error).toMatchObject({ code: 'USAGE' });
    expect(report.targets[0]!.error?.message).toMatch(/Docker's own json-file logs \(mounted from \/var\/lib\/docker\/containers\)/);
    expect(report.targets[0]!.error?.hint).toMatch(/the engine keeps writing to the file it opened/);
  });

  it('keeps the state in a volume per target: "daily" holds across runs', async () => {
    const { name, volume } = target(`seq 1 100 > /v/app.log && chown ${APP_UID}:${APP_UID} /v/app.log`);
    const stateVolume = `dtool-logrotate-state-${name}`;
    const forced = await rotate({ volumesFrom: [name], force: true });
    expect(forced.targets[0]).toMatchObject({ status: 'ok', stateVolume, files: [{ path: '/var/log/app/app.log', rotated: true }] });
    expect(inVolume(stateVolume, 'cat /v/status.1000-1000')).toMatch(/^"\/var\/log\/app\/app\.log" \d{4}-\d{1,2}-\d{1,2}-\d{1,2}:\d{1,2}:\d{1,2}$/m);

    // More lines, same day: not due.
    inVolume(volume, 'seq 1 100 >> /v/app.log', `${APP_UID}:${APP_UID}`);
    const again = await rotate({ volumesFrom: [name] });
    expect(again.targets[0]).toMatchObject({ status: 'ok', files: [{ path: '/var/log/app/app.log', rotated: false }] });

    // The state says yesterday (as if a day had passed): due, and rotated without --force.
    inVolume(stateVolume, "sed -i -E 's/ [0-9]+-[0-9]+-[0-9]+-[0-9:]+$/ 2000-1-1-0:0:0/' /v/status.1000-1000");
    const nextDay = await rotate({ volumesFrom: [name] });
    expect(nextDay.targets[0]).toMatchObject({ status: 'ok', files: [{ path: '/var/log/app/app.log', rotated: true }] });
    expect(inVolume(volume, 'ls -1 /v').trim().split('\n')).toEqual(['app.log', 'app.log.1', 'app.log.2.gz']);
  });
});
