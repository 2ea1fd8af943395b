import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobKinds } from '../../src/job-kinds.js';
import { checkJob, type JobSpec } from '../../src/schedule/job.js';
import { FakeDocker, fakeDeps } from '../support/fake-docker.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dtool-kinds-'));
  await writeFile(join(dir, 'db.cnf'), '[client]\nuser=root\npassword=x\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function job(kind: string, params: Record<string, unknown>, settings: Record<string, unknown> = {}): JobSpec {
  const kinds = createJobKinds(dir);
  const checked = checkJob('j', { schedule: '@daily', helper: kind, with: params, ...settings }, 'test', kinds);
  if (Array.isArray(checked)) throw new Error(JSON.stringify(checked));
  return checked;
}

describe('job kinds', () => {
  it('knows the families a job can run', () => {
    expect(createJobKinds(dir).names).toEqual(['backup', 'logrotate', 'recipe', 'dns-rebuild', 'host-info']);
  });

  it('refuses a parameter the helper does not take, naming the ones it does', () => {
    expect(() => createJobKinds(dir).check('backup', { keep: '7', colour: 'blue' })).toThrow(
      /backup has no parameter "colour" \(known: link, label, out/,
    );
  });

  it('checks parameter values the way the CLI checks its flags', async () => {
    await expect(createJobKinds(dir).checkAsync('backup', { link: ['db'], out: dir, credentials: 'db.cnf', keep: 'many' })).rejects.toThrow(
      '--keep expects a whole number from 1 to 1000000, not "many"',
    );
  });

  it('turns a target that is gone at run time into a failed outcome with its exit code, never a throw', async () => {
    const deps = fakeDeps();
    const backup = job('backup', { link: ['gone'], out: join(dir, 'out'), credentials: 'db.cnf' });
    const outcome = await createJobKinds(dir).run(deps, { job: backup, instant: new Date(), signal: new AbortController().signal });
    expect(outcome).toMatchObject({ ok: false, exitCode: 4, summary: expect.stringContaining('gone') });
  });

  it('runs a backup job with swarm: on the node of each linked service, failing by service', async () => {
    const docker = new FakeDocker();
    docker.swarm = { nodeId: 'id-manager', localState: 'active', isManager: true };
    const backup = job('backup', { link: ['db'], out: join(dir, 'out'), credentials: 'db.cnf' }, { swarm: true });
    const outcome = await createJobKinds(dir).run(fakeDeps({ docker }), { job: backup, instant: new Date(), signal: new AbortController().signal });
    expect(outcome).toMatchObject({ ok: false, exitCode: 4 });
    expect(outcome.summary).toMatch(/service db has no running task/);
    expect(docker.methods()).toContain('listTasks');
  });
});
