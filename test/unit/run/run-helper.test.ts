import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AbortedError, HelperFailedError, PrivilegeNotGrantedError, TimeoutError } from '../../../src/errors.js';
import type { HelperRunSpec } from '../../../src/core/helper-spec.js';
import { runHelper } from '../../../src/run/run-helper.js';
import { FakeDocker, fakeDeps, type ScriptedRun } from '../../support/fake-docker.js';

const spec: HelperRunSpec = {
  helper: 'probe',
  image: 'dtool/probe:test',
  command: ['probe'],
  secrets: [{ name: 'client.cnf', content: '[client]\npassword="top-secret"\n' }],
};

function setup(run: ScriptedRun, options: Parameters<typeof fakeDeps>[0] = {}) {
  const docker = new FakeDocker().script(run);
  return { docker, deps: fakeDeps({ ...options, docker }) };
}

describe('runHelper: lifecycle', () => {
  it('returns demultiplexed stdout and stderr of a successful run', async () => {
    const { deps } = setup({ stdout: 'line 1\n{"ok":true}\n', stderr: 'progress\n', exitCode: 0 });
    const result = await runHelper(deps, spec);
    expect(result).toMatchObject({
      helper: 'probe',
      exitCode: 0,
      stdout: 'line 1\n{"ok":true}\n',
      stderr: 'progress\n',
      outputTruncated: false,
    });
    expect(result.runId).toMatch(/^[0-9a-z]+-[0-9a-f]{6}$/);
  });

  it('creates, registers the wait and attaches before starting, then removes the container', async () => {
    const { docker, deps } = setup({ stdout: 'x\n' });
    await runHelper(deps, spec);
    expect(docker.methods()).toEqual(['createContainer', 'waitContainer', 'attachContainer', 'startContainer', 'execStream', 'removeContainer']);
    expect(docker.removed).toEqual(['container-1']);
  });

  it('waits for the AutoRemove container to be removed, and holds its stdin until then', async () => {
    const { docker, deps } = setup({ stdout: 'x\n', exitCode: 3 });
    const result = await runHelper(deps, spec, { allowFailure: true });
    expect(result.exitCode).toBe(3);
    expect(docker.calls.find((c) => c.method === 'waitContainer')!.args).toEqual(['container-1', 'removed']);
    expect(docker.calls.find((c) => c.method === 'attachContainer')!.args).toEqual(['container-1', { stdin: true }]);
    expect(docker.created[0]).toMatchObject({ OpenStdin: true, StdinOnce: true, HostConfig: { AutoRemove: true } });
    expect(docker.detached).toEqual(['container-1']);
  });

  it('records its owner process in the labels, for the orphan sweep', async () => {
    const { docker, deps } = setup({});
    await runHelper(deps, spec);
    expect(docker.created[0]!.Labels).toMatchObject({
      'dtool.owner.host': 'test-host',
      'dtool.owner.boot-id': 'boot-1',
      'dtool.owner.pid': '4242',
      'dtool.owner.start-ticks': '1000',
    });
  });

  it('keeps the last 1 MiB of a huge output and says it was cut', async () => {
    const huge = `${'x'.repeat(1024 * 1024)}\nthe end\n`;
    const { deps } = setup({ stdout: huge });
    const result = await runHelper(deps, spec);
    expect(result.outputTruncated).toBe(true);
    expect(result.stdout).toHaveLength(1024 * 1024);
    expect(result.stdout.endsWith('\nthe end\n')).toBe(true);
  });

  it('names and labels the container after the helper and run', async () => {
    const { docker, deps } = setup({});
    const result = await runHelper(deps, spec);
    expect(docker.created[0]!.name).toBe(`dtool-probe-${result.runId}`);
    expect(docker.created[0]!.Labels).toMatchObject({ 'dtool.helper': 'probe', 'dtool.run-id': result.runId });
  });

  it('reports start, each output line and the exit, and calls onLine', async () => {
    const { deps } = setup({ stdout: 'a\nb', stderr: 'e\n' });
    const lines: string[] = [];
    await runHelper(deps, spec, { onLine: (stream, line) => lines.push(`${stream}:${line}`) });
    expect(lines).toEqual(['stdout:a', 'stderr:e', 'stdout:b']);
    expect(deps.events).toEqual([
      { type: 'helper.start', helper: 'probe', runId: expect.any(String), containerId: 'container-1' },
      { type: 'helper.output', helper: 'probe', stream: 'stdout', line: 'a' },
      { type: 'helper.output', helper: 'probe', stream: 'stderr', line: 'e' },
      // The last line had no newline: it is flushed once the output ended.
      { type: 'helper.output', helper: 'probe', stream: 'stdout', line: 'b' },
      { type: 'helper.exit', helper: 'probe', runId: expect.any(String), exitCode: 0, durationMs: expect.any(Number) },
    ]);
  });
});

describe('runHelper: failures', () => {
  it('throws HelperFailedError with the exit code and the stderr tail on a non-zero exit', async () => {
    const stderr = `${Array.from({ length: 30 }, (_, i) => `noise ${i}`).join('\n')}\nmysqldump: Got error: 1045\n`;
    const { docker, deps } = setup({ stderr, exitCode: 3 });
    const error = await runHelper(deps, spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HelperFailedError);
    expect(error).toMatchObject({ exitCode: 3, helper: 'probe', message: 'helper probe exited with code 3: mysqldump: Got error: 1045' });
    expect((error as HelperFailedError).details).toHaveLength(20);
    expect((error as HelperFailedError).details.at(-1)).toBe('mysqldump: Got error: 1045');
    expect(docker.removed).toEqual(['container-1']);
  });

  it('returns the failed result instead with allowFailure', async () => {
    const { docker, deps } = setup({ stderr: 'bad\n', exitCode: 11 });
    const result = await runHelper(deps, spec, { allowFailure: true });
    expect(result).toMatchObject({ exitCode: 11, stderr: 'bad\n' });
    expect(docker.removed).toEqual(['container-1']);
  });

  it('removes the container when attach fails', async () => {
    const { docker, deps } = setup({ failAttach: new Error('attach refused') });
    await expect(runHelper(deps, spec)).rejects.toThrow('attach refused');
    expect(docker.methods()).toEqual(['createContainer', 'waitContainer', 'attachContainer', 'removeContainer']);
  });

  it('removes the container when start fails', async () => {
    const { docker, deps } = setup({ failStart: new Error('OCI runtime create failed') });
    await expect(runHelper(deps, spec)).rejects.toThrow('OCI runtime create failed');
    expect(docker.methods()).toEqual(['createContainer', 'waitContainer', 'attachContainer', 'startContainer', 'removeContainer']);
    expect(docker.detached).toEqual(['container-1']);
  });

  it('warns, without hiding the result, when removal itself fails', async () => {
    const { docker, deps } = setup({ stdout: 'ok\n' });
    docker.removeContainer = async () => {
      throw new Error('engine went away');
    };
    const result = await runHelper(deps, spec);
    expect(result.exitCode).toBe(0);
    expect(deps.events).toContainEqual({ type: 'warning', message: 'could not remove helper container container-1: engine went away' });
  });

  it('refuses an ungranted privilege before any Docker call', async () => {
    const { docker, deps } = setup({});
    await expect(runHelper(deps, { ...spec, privileges: ['privileged'] })).rejects.toBeInstanceOf(PrivilegeNotGrantedError);
    expect(docker.calls).toEqual([]);
  });
});

describe('runHelper: stopping', () => {
  it('stops, removes and throws AbortedError when aborted mid-run', async () => {
    const controller = new AbortController();
    const { docker, deps } = setup({ hang: true }, { signal: controller.signal });
    const running = runHelper(deps, spec);
    await until(() => docker.methods().includes('waitContainer'));
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(AbortedError);
    expect(docker.calls.find((c) => c.method === 'killContainer')?.args).toEqual(['container-1', 'SIGTERM']);
    expect(docker.removed).toEqual(['container-1']);
  });

  it('throws AbortedError before creating anything when already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const { docker, deps } = setup({}, { signal: controller.signal });
    await expect(runHelper(deps, spec)).rejects.toBeInstanceOf(AbortedError);
    expect(docker.calls).toEqual([]);
  });

  it('stops, removes and throws TimeoutError after spec.timeoutMs', async () => {
    const { docker, deps } = setup({ hang: true });
    const error = await runHelper(deps, { ...spec, timeoutMs: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toMatch(/^helper probe timed out after \d+s$/);
    expect(docker.methods()).toContain('killContainer');
    expect(docker.removed).toEqual(['container-1']);
  });

  it('falls back to the configured timeout', async () => {
    const { docker, deps } = setup({ hang: true }, { config: { helperTimeoutMs: 20 } });
    await expect(runHelper(deps, spec)).rejects.toBeInstanceOf(TimeoutError);
    expect(docker.removed).toEqual(['container-1']);
  });
});

describe('runHelper: secrets', () => {
  it('creates the helper with an empty private tmpfs for them and only their names, then hands them over by exec after start', async () => {
    const { docker, deps } = setup({ stdout: 'ok\n' });
    await runHelper(deps, spec);
    expect(docker.methods()).toEqual(['createContainer', 'waitContainer', 'attachContainer', 'startContainer', 'execStream', 'removeContainer']);
    expect(docker.calls.find((c) => c.method === 'execStream')!.args).toEqual(['container-1', ['dtool-guard', '--receive-secrets']]);
    expect(docker.delivered).toEqual([{ id: 'container-1', secrets: { 'client.cnf': '[client]\npassword="top-secret"\n' } }]);
    const options = docker.created[0]!;
    expect(options.HostConfig.Tmpfs).toMatchObject({ '/run/secrets': 'rw,noexec,nosuid,nodev,size=1048576,mode=0700' });
    expect(options.HostConfig.Mounts).toBeUndefined();
    expect(options.Env).toEqual(['DTOOL_GUARD=stdin', 'DTOOL_SECRETS=client.cnf']);
  });

  it('writes nothing to the local disk for them', async () => {
    const { deps } = setup({});
    const before = await readdir(tmpdir());
    await runHelper(deps, spec);
    expect((await readdir(tmpdir())).filter((name) => !before.includes(name) && name.startsWith('dtool-secrets-'))).toEqual([]);
  });

  it('removes the helper and fails when they cannot be handed over', async () => {
    const docker = new FakeDocker().script({});
    const deps = fakeDeps({ docker });
    const execStream = docker.execStream.bind(docker);
    docker.execStream = async (id, command, options) => {
      const session = await execStream(id, command, options);
      const stderr = new PassThrough();
      stderr.end('dtool-guard: receiving the secrets failed\n');
      return { ...session, stderr, exitCode: Promise.resolve(1) };
    };
    await expect(runHelper(deps, spec)).rejects.toMatchObject({
      code: 'HELPER_FAILED',
      message: 'helper probe exited with code 1: dtool-guard: receiving the secrets failed',
    });
    expect(docker.removed).toEqual(['container-1']);
  });

  it('never passes secret content to the engine but through the exec', async () => {
    const { docker, deps } = setup({});
    await runHelper(deps, spec);
    expect(JSON.stringify(docker.calls)).not.toContain('top-secret');
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  expect(condition()).toBe(true);
}
