/** The whole run against a scripted engine: targets, refusals, the signal flow and the report. */
import { describe, expect, it } from 'vitest';
import type { ContainerDetails } from '../../../../src/docker/port.js';
import { NotFoundError, PartialFailureError, exitCodeFor } from '../../../../src/errors.js';
import { logrotate, logrotateReportError, parseLogrotateParams, type RawLogrotateOptions } from '../../../../src/helpers/logrotate/index.js';
import { FakeDocker, fakeDeps, runningContainer, type ScriptedRun } from '../../../support/fake-docker.js';

/** A FakeDocker whose target containers (ids `<name>-id`) take signals; helpers stop as usual. */
class TargetDocker extends FakeDocker {
  readonly signalled: { id: string; signal: string | undefined }[] = [];
  signalError: Error | undefined;

  override async killContainer(id: string, signal?: string): Promise<void> {
    if (!id.endsWith('-id')) return super.killContainer(id, signal);
    this.calls.push({ method: 'killContainer', args: [id, signal] });
    if (this.signalError) throw this.signalError;
    this.signalled.push({ id, signal });
  }

  target(name: string, overrides: Partial<ContainerDetails> = {}): this {
    this.containers.set(name, runningContainer(name, { image: 'nginx:1', ...overrides }));
    return this;
  }
}

const ROTATED = (path = '/var/log/nginx/access.log') =>
  `{"files":[{"path":"${path}","owner":"101:101","rotated":true,"bytes":2048}],"failedOwners":[]}\n`;
const NOTHING = '{"files":[{"path":"/var/log/nginx/access.log","owner":"101:101","rotated":false}],"failedOwners":[]}\n';

async function run(docker: TargetDocker, raw: RawLogrotateOptions) {
  const deps = fakeDeps({ docker });
  const report = await logrotate(deps, parseLogrotateParams(raw, '/'));
  return { deps, report };
}

describe('logrotate: signal mode', () => {
  it("rotates through one helper with the target's volumes, then sends the declared signal through the engine", async () => {
    const docker = new TargetDocker().target('web', { labels: { 'dtool.logrotate.signal': 'USR1' } }).script({ stdout: ROTATED() });
    const { deps, report } = await run(docker, { volumesFrom: ['web'] });
    expect(deps.ensuredImages).toEqual(['logrotate']);
    expect(docker.created).toHaveLength(1);
    expect(docker.created[0]!.HostConfig.VolumesFrom).toEqual(['web']);
    expect(docker.created[0]!.Cmd?.slice(0, 3)).toEqual(['dtool-logrotate', '--mode', 'signal']);
    expect(docker.signalled).toEqual([{ id: 'web-id', signal: 'SIGUSR1' }]);
    // The signal goes out once the helper has finished and is gone.
    const methods = docker.methods();
    expect(methods.indexOf('killContainer')).toBeGreaterThan(methods.indexOf('removeContainer'));
    expect(report.ok).toBe(true);
    expect(report.targets).toEqual([
      {
        target: 'web',
        container: 'web',
        status: 'ok',
        mode: 'signal',
        stateVolume: 'dtool-logrotate-state-web',
        files: [{ path: '/var/log/nginx/access.log', owner: '101:101', rotated: true, bytes: 2048 }],
        signal: { name: 'SIGUSR1', sent: true },
        seconds: 0,
      },
    ]);
    expect(logrotateReportError(report)).toBeUndefined();
  });

  it('sends no signal when nothing was rotated', async () => {
    const docker = new TargetDocker().target('web').script({ stdout: NOTHING });
    const { report } = await run(docker, { volumesFrom: ['web'], signal: 'HUP' });
    expect(docker.signalled).toEqual([]);
    expect(report.targets[0]!.signal).toEqual({ name: 'SIGHUP', sent: false, reason: 'nothing was rotated' });
    expect(report.targets[0]!.status).toBe('ok');
  });

  it('still signals what was rotated when logrotate failed for another owner, and reports the failure', async () => {
    const stdout =
      '{"files":[{"path":"/var/log/a/a.log","owner":"1000:1000","rotated":true,"bytes":5},{"path":"/var/log/b/b.log","owner":"0:0","rotated":false}],"failedOwners":["0:0"]}\n';
    const docker = new TargetDocker()
      .target('web')
      .script({ stdout, stderr: 'error: skipping "/var/log/b/b.log" because parent directory has insecure permissions\n', exitCode: 12 });
    const { report } = await run(docker, { volumesFrom: ['web'], signal: 'HUP' });
    expect(docker.signalled).toEqual([{ id: 'web-id', signal: 'SIGHUP' }]);
    const [target] = report.targets;
    expect(target).toMatchObject({ status: 'failed', signal: { name: 'SIGHUP', sent: true }, error: { code: 'HELPER_FAILED' } });
    expect(target!.files).toHaveLength(2);
    expect(exitCodeFor(logrotateReportError(report))).toBe(5);
  });

  it('fails the target when the signal cannot be sent, naming why', async () => {
    const docker = new TargetDocker().target('web').script({ stdout: ROTATED() });
    docker.signalError = new NotFoundError('container web is gone');
    const { report } = await run(docker, { volumesFrom: ['web'], signal: 'HUP' });
    expect(report.targets[0]).toMatchObject({
      status: 'failed',
      signal: { name: 'SIGHUP', sent: false, reason: 'container web is gone' },
      error: { code: 'NOT_FOUND' },
    });
  });
});

describe('logrotate: copytruncate mode', () => {
  it('is the mode without a signal; sends nothing and sums the bytes lost', async () => {
    const stdout =
      '{"files":[{"path":"/var/log/app/a.log","owner":"1000:1000","rotated":true,"bytes":900,"lostBytes":64},{"path":"/var/log/app/b.log","owner":"1000:1000","rotated":true,"bytes":10,"lostBytes":0}],"failedOwners":[]}\n';
    const docker = new TargetDocker().target('app').script({ stdout });
    const { report, deps } = await run(docker, { volumesFrom: ['app'] });
    expect(docker.signalled).toEqual([]);
    expect(report.targets[0]).toMatchObject({ status: 'ok', mode: 'copytruncate', lostBytes: 64 });
    expect(report.targets[0]!.signal).toBeUndefined();
    expect(deps.events).toContainEqual({
      type: 'target.done',
      target: 'app',
      action: 'logrotate',
      ok: true,
      message: '2 of 2 files rotated, 64 bytes lost to copytruncate',
    });
  });
});

describe('logrotate: targets', () => {
  it('a --volumes-from target that does not exist is a not-found error naming it, and no helper starts', async () => {
    const docker = new TargetDocker();
    const { report } = await run(docker, { volumesFrom: ['nosuch'] });
    expect(docker.created).toEqual([]);
    expect(report.targets[0]).toMatchObject({
      target: 'nosuch',
      status: 'failed',
      error: { code: 'NOT_FOUND', message: '--volumes-from nosuch: no such container' },
    });
    const error = logrotateReportError(report);
    expect(error).toBeInstanceOf(Error);
    expect(error?.code).toBe('NOT_FOUND');
    expect(exitCodeFor(error)).toBe(4);
  });

  it('a stopped target is not found either: its application could not reopen its logs', async () => {
    const docker = new TargetDocker().target('web', { running: false, status: 'exited' });
    const { report } = await run(docker, { volumesFrom: ['web'] });
    expect(report.targets[0]!.error?.message).toBe('--volumes-from web is not running (exited)');
  });

  it("refuses a target that mounts Docker's own logs within reach, before any helper, and rotates the others", async () => {
    const docker = new TargetDocker()
      .target('shipper', { mounts: [{ type: 'bind', source: '/var/lib/docker/containers', destination: '/var/log/docker' }] })
      .target('web')
      .script({ stdout: NOTHING });
    const { report } = await run(docker, { volumesFrom: ['shipper', 'web'], path: ['/var/log/*/*/*-json.log', '/var/log/*/*log'] });
    expect(docker.created).toHaveLength(1);
    expect(docker.created[0]!.HostConfig.VolumesFrom).toEqual(['web']);
    expect(report.targets.map((t) => [t.target, t.status, t.error?.code])).toEqual([
      ['shipper', 'failed', 'USAGE'],
      ['web', 'ok', undefined],
    ]);
    expect(report.targets[0]!.error?.message).toMatch(/Docker's own json-file logs/);
    const error = logrotateReportError(report);
    expect(error).toBeInstanceOf(PartialFailureError);
    expect(error?.message).toBe('1 of 2 failed: shipper');
    expect(exitCodeFor(error)).toBe(8);
  });

  it('maps a refusal by the helper itself (exit 13) to a usage error and sends nothing', async () => {
    const docker = new TargetDocker()
      .target('web')
      .script({ exitCode: 13, stderr: 'dtool-logrotate: refusing /var/log/x/abc-json.log: a Docker json-file log\n', stdout: '' });
    const { report } = await run(docker, { volumesFrom: ['web'], signal: 'HUP' });
    expect(docker.signalled).toEqual([]);
    expect(report.targets[0]!.error).toMatchObject({ code: 'USAGE', message: 'web: refusing /var/log/x/abc-json.log: a Docker json-file log' });
  });

  it('a bad label fails its own target only', async () => {
    const docker = new TargetDocker()
      .target('a', { labels: { 'dtool.logrotate.rotate': 'lots' } })
      .target('b')
      .script({ stdout: NOTHING });
    const { report } = await run(docker, { volumesFrom: ['a', 'b'] });
    expect(report.targets.map((t) => t.status)).toEqual(['failed', 'ok']);
    expect(report.targets[0]!.error?.message).toMatch(/label dtool\.logrotate\.rotate on a expects a whole number/);
  });

  it('selects running containers by label, rotating a container named twice once', async () => {
    const docker = new TargetDocker().target('web').target('api');
    docker.labelled = [
      { name: 'web', labels: { logs: 'rotate' } },
      { name: 'api', labels: { logs: 'rotate' } },
    ];
    const { report } = await run(docker, { volumesFrom: ['web'], label: ['logs=rotate'] });
    expect(report.targets.map((t) => t.target)).toEqual(['web', 'api']);
    expect(docker.created.map((c) => c.HostConfig.VolumesFrom)).toEqual([['web'], ['api']]);
  });

  it('a label that selects nothing is a not-found error', async () => {
    const docker = new TargetDocker();
    await expect(run(docker, { label: ['logs=rotate'] })).rejects.toThrow(/no running container has the label logs=rotate/);
  });

  it('runs at most --concurrency helpers at once, one per target', async () => {
    const docker = new TargetDocker();
    let running = 0;
    let most = 0;
    const slow: ScriptedRun = {
      stdout: NOTHING,
      onStart: async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 20));
        running--;
      },
    };
    const names = ['t1', 't2', 't3', 't4', 't5', 't6', 't7'];
    for (const name of names) docker.target(name).script(slow);
    const { report } = await run(docker, { volumesFrom: names, concurrency: '3' });
    expect(report.ok).toBe(true);
    expect(docker.created).toHaveLength(7);
    expect(most).toBe(3);
  });

  it('is aborted as a whole when its signal fires', async () => {
    const controller = new AbortController();
    controller.abort();
    const docker = new TargetDocker().target('web');
    const report = await logrotate(fakeDeps({ docker, signal: controller.signal }), parseLogrotateParams({ volumesFrom: ['web'] }, '/'));
    expect(docker.created).toEqual([]);
    expect(logrotateReportError(report)?.code).toBe('ABORTED');
  });
});
