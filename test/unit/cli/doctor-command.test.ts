import { describe, expect, it } from 'vitest';
import { renderEndpoint } from '../../../src/cli/commands/doctor.js';
import { createContext } from '../../../src/cli/context.js';
import { runCli } from '../../../src/cli/program.js';
import type { CliIo } from '../../../src/cli/render.js';
import { EngineUnavailableError, UsageError, exitCodeFor } from '../../../src/errors.js';
import { endpointReport } from '../../../src/run/doctor.js';
import { FakeDocker } from '../../support/fake-docker.js';

function fakeCli(env: Record<string, string>) {
  const out: string[] = [];
  const io: CliIo = { stdout: (text) => out.push(text), stderr: () => {}, interactive: false, env, cwd: '/home/ops' };
  const docker = new FakeDocker();
  return { docker, context: createContext(io, new AbortController().signal, docker), stdout: () => out.join('') };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('dtool doctor: which engine, and how', () => {
  it('refuses a plain tcp:// engine before any engine call (exit 2), naming --insecure', async () => {
    const cli = fakeCli({ DOCKER_HOST: 'tcp://10.0.0.5:2375' });
    const error = await failure(runCli(['doctor'], cli.context));
    expect(error).toBeInstanceOf(UsageError);
    expect(exitCodeFor(error)).toBe(2);
    expect((error as UsageError).hint).toContain('--insecure');
    expect(cli.docker.calls).toEqual([]);
  });

  it.each([
    ['--insecure', ['--insecure', 'doctor'], {}],
    ['DTOOL_INSECURE=1', ['doctor'], { DTOOL_INSECURE: '1' }],
  ])('with %s, goes on and shows the engine as plain tcp', async (_, argv, extra) => {
    const cli = fakeCli({ DOCKER_HOST: 'tcp://10.0.0.5:2375', ...extra });
    // The fake engine does not answer `version`: the report says unreachable, after the endpoint line.
    expect(await failure(runCli(argv, cli.context))).toBeInstanceOf(EngineUnavailableError);
    expect(cli.stdout()).toMatch(/^endpoint: +tcp:\/\/10\.0\.0\.5:2375 via DOCKER_HOST, plain tcp, NO TLS \(--insecure\)\nengine: unreachable/);
  });

  it('--json carries the endpoint as data', async () => {
    const cli = fakeCli({ DOCKER_HOST: 'tcp://10.0.0.5:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' });
    await failure(runCli(['doctor', '--json'], cli.context));
    expect(JSON.parse(cli.stdout())).toMatchObject({
      ok: false,
      endpoint: { address: 'tcp://10.0.0.5:2376', kind: 'tcp', via: 'DOCKER_HOST', tls: { enabled: true, verify: true }, ssh: false },
      engine: { reachable: false },
    });
  });

  it('the default socket, without a DOCKER_HOST', async () => {
    const cli = fakeCli({});
    await failure(runCli(['doctor'], cli.context));
    expect(cli.stdout()).toMatch(/^endpoint: +unix:\/\/\/var\/run\/docker\.sock via default, local socket\n/);
  });
});

describe('renderEndpoint', () => {
  it('says how each kind of engine is reached', () => {
    const line = (endpoint: Parameters<typeof endpointReport>[0]) => renderEndpoint(endpointReport(endpoint)).replace(/^endpoint: +/, '');
    expect(line({ kind: 'ssh', address: 'ssh://ops@b', source: 'context build' })).toBe('ssh://ops@b via context build, ssh\n');
    expect(line({ kind: 'tcp', address: 'tcp://h:2376', tls: { verify: false }, source: 'DOCKER_HOST' })).toBe(
      'tcp://h:2376 via DOCKER_HOST, TLS, certificate NOT verified\n',
    );
    expect(line({ kind: 'tcp', address: 'tcp://h:2376', tls: { verify: true }, source: 'context prod' })).toBe(
      'tcp://h:2376 via context prod, TLS, certificate verified\n',
    );
  });
});
