/**
 * A real remote engine: a TLS-protected dockerd (mutual TLS) in a dtool/dind container on
 * 127.0.0.1:23760, from scripts/remote-engine.sh. It is shared and left running (`make
 * remote-engine-down` removes it): `up` is quick when it already runs.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDefaultDeps } from '../../../src/deps.js';
import { contextId } from '../../../src/docker/engine-endpoint.js';
import { EXIT_CODES } from '../../../src/errors.js';

const CLI = new URL('../../../dist/cli/main.js', import.meta.url).pathname;
const SCRIPT = new URL('../../../scripts/remote-engine.sh', import.meta.url).pathname;
const STATE = process.env.DTOOL_REMOTE_DIR ?? '/run/dtool-remote-engine';
const ADDRESS = 'tcp://127.0.0.1:23760';
const CONTAINER = 'dtool-remote-engine';

/** This process's environment without any engine selection of its own. */
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^DOCKER_(HOST|TLS|TLS_VERIFY|CERT_PATH|CONTEXT|CONFIG)$/.test(key) && key !== 'DTOOL_INSECURE'),
);

function remoteEnv(certPath = join(STATE, 'client')): Record<string, string> {
  return { DOCKER_HOST: ADDRESS, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certPath };
}

function dtool(args: readonly string[], env: Record<string, string>) {
  return execa('node', [CLI, ...args], { reject: false, env: { ...baseEnv, ...env }, extendEnv: false });
}

/** The `docker` CLI on the remote engine, with the right certificates. */
function remoteDocker(args: readonly string[]): string {
  const client = join(STATE, 'client');
  return execFileSync(
    'docker',
    [
      '--tlsverify',
      '--tlscacert',
      join(client, 'ca.pem'),
      '--tlscert',
      join(client, 'cert.pem'),
      '--tlskey',
      join(client, 'key.pem'),
      '-H',
      ADDRESS,
      ...args,
    ],
    { encoding: 'utf8', env: baseEnv },
  ).trim();
}

function localDocker(args: readonly string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', env: baseEnv }).trim();
}

/** dtool's helper containers on both engines, running or not. */
function helperContainers(): { local: string[]; remote: string[] } {
  const filter = ['ps', '-aq', '--filter', 'label=dtool.managed'];
  return { local: localDocker(filter).split('\n').filter(Boolean), remote: remoteDocker(filter).split('\n').filter(Boolean) };
}

let hostImage: string;

beforeAll(async () => {
  // The host-info helper's image, at the reference dtool looks for, copied into the remote engine.
  const deps = await createDefaultDeps({ env: baseEnv });
  hostImage = (await deps.images.ensure('host')).reference;
  execFileSync('bash', [SCRIPT, 'up', hostImage], { stdio: ['ignore', 'inherit', 'inherit'], env: baseEnv });
});

describe('a remote TLS engine', () => {
  it('the fixture is another engine than the local one', () => {
    expect(remoteDocker(['info', '-f', '{{.ID}}'])).not.toBe(localDocker(['info', '-f', '{{.ID}}']));
    expect(remoteDocker(['info', '-f', '{{.Name}}'])).toBe(CONTAINER);
  });

  it('doctor, with DOCKER_HOST and the right certificates, reports the remote engine and how it is reached', async () => {
    const result = await dtool(['doctor', '--json'], remoteEnv());
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.endpoint).toEqual({ address: ADDRESS, kind: 'tcp', via: 'DOCKER_HOST', tls: { enabled: true, verify: true }, ssh: false });
    expect(report.engine.reachable).toBe(true);
    // It is the remote engine (the DinD container), not this machine's, and the images it sees are
    // that engine's: what the script copied there, not all of this machine's.
    expect(report.engine.name).toBe('dtool-remote-engine');
    expect(report.engine.id).not.toBe(localDocker(['info', '-f', '{{.ID}}']).trim());
    const present = report.helperImages.filter((i: { present: boolean }) => i.present).map((i: { reference: string }) => i.reference);
    expect(present).toContain(hostImage);
    const absentHere = report.helperImages.filter((i: { present: boolean }) => !i.present).map((i: { reference: string }) => i.reference);
    const presentLocally = absentHere.filter((reference: string) => {
      try {
        localDocker(['image', 'inspect', '-f', '{{.Id}}', reference]);
        return true;
      } catch {
        return false;
      }
    });
    expect(presentLocally.length).toBeGreaterThan(0);

    const text = await dtool(['doctor'], remoteEnv());
    expect(text.stdout).toMatch(/^endpoint: +tcp:\/\/127\.0\.0\.1:23760 via DOCKER_HOST, TLS, certificate verified\n/);
  });

  it('a helper runs on the remote engine: host info reads the DinD container, not this machine', async () => {
    const result = await dtool(['host', 'info', '--json'], remoteEnv());
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const info = JSON.parse(result.stdout);
    expect(info.hostname).toBe(CONTAINER);
    expect(info.hostname).not.toBe(hostname());
  });

  it('certificates of another CA: a clear error naming the engine (exit 3), and no container anywhere', async () => {
    const before = helperContainers();
    const result = await dtool(['host', 'info'], remoteEnv(join(STATE, 'wrong')));
    expect(result.exitCode).toBe(EXIT_CODES.ENGINE_UNAVAILABLE);
    expect(result.stderr).toContain(`TLS handshake with the Docker engine at ${ADDRESS} failed`);
    expect(result.stderr).toContain('not signed by our CA');
    expect(result.stderr).toMatch(/hint: check the TLS material/);
    expect(result.stdout).toBe('');
    expect(helperContainers()).toEqual(before);
  });

  it('the right CA but a client certificate the engine does not trust: refused, saying it is our certificate', async () => {
    const mixed = await mkdtemp(join(tmpdir(), 'dtool-mixed-certs-'));
    await copyFile(join(STATE, 'client', 'ca.pem'), join(mixed, 'ca.pem'));
    await copyFile(join(STATE, 'wrong', 'cert.pem'), join(mixed, 'cert.pem'));
    await copyFile(join(STATE, 'wrong', 'key.pem'), join(mixed, 'key.pem'));
    const before = helperContainers();
    const result = await dtool(['doctor'], remoteEnv(mixed));
    expect(result.exitCode).toBe(EXIT_CODES.ENGINE_UNAVAILABLE);
    expect(result.stderr).toContain(ADDRESS);
    expect(result.stderr).toContain('refused our client certificate');
    expect(helperContainers()).toEqual(before);
  });

  it('missing certificate files: a usage error naming the file, before any engine call', async () => {
    const result = await dtool(['host', 'info'], remoteEnv('/nonexistent/certs'));
    expect(result.exitCode).toBe(EXIT_CODES.USAGE);
    expect(result.stderr).toContain('/nonexistent/certs/ca.pem: no such file');
  });

  it('plain tcp:// without TLS is refused (exit 2) unless --insecure', async () => {
    const before = helperContainers();
    const refused = await dtool(['host', 'info'], { DOCKER_HOST: ADDRESS });
    expect(refused.exitCode).toBe(EXIT_CODES.USAGE);
    expect(refused.stderr).toContain(`refusing the Docker engine at ${ADDRESS}`);
    expect(refused.stderr).toContain('--insecure');
    expect(helperContainers()).toEqual(before);

    // With --insecure (or DTOOL_INSECURE=1) dtool goes on; this engine only speaks TLS, and says so.
    for (const [args, env] of [
      [['--insecure', 'host', 'info'], {}],
      [['host', 'info'], { DTOOL_INSECURE: '1' }],
    ] as const) {
      const attempted = await dtool(args, { DOCKER_HOST: ADDRESS, ...env });
      expect(attempted.stderr).not.toContain('refusing');
      expect(attempted.stderr).toContain(`the Docker engine at ${ADDRESS} speaks TLS`);
      expect(attempted.exitCode).toBe(EXIT_CODES.ENGINE_UNAVAILABLE);
    }
  });

  it('a docker context with TLS material reaches it; DOCKER_HOST wins over the context', async () => {
    const config = await mkdtemp(join(tmpdir(), 'dtool-docker-config-'));
    const name = 'dtool-remote';
    await mkdir(join(config, 'contexts', 'meta', contextId(name)), { recursive: true });
    await writeFile(
      join(config, 'contexts', 'meta', contextId(name), 'meta.json'),
      JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: ADDRESS, SkipTLSVerify: false } } }),
    );
    const tls = join(config, 'contexts', 'tls', contextId(name), 'docker');
    await mkdir(tls, { recursive: true });
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) await copyFile(join(STATE, 'client', file), join(tls, file));
    await writeFile(join(config, 'config.json'), JSON.stringify({ currentContext: name }));

    const viaContext = await dtool(['host', 'info', '--json'], { DOCKER_CONFIG: config });
    expect(viaContext.stderr).toBe('');
    expect(JSON.parse(viaContext.stdout).hostname).toBe(CONTAINER);

    const local = await dtool(['host', 'info', '--json'], { DOCKER_CONFIG: config, DOCKER_HOST: 'unix:///var/run/docker.sock' });
    expect(local.exitCode).toBe(0);
    expect(JSON.parse(local.stdout).hostname).not.toBe(CONTAINER);
  });
});
