import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  contextId,
  DEFAULT_ENGINE_ADDRESS,
  type Env,
  endpointForAddress,
  engineConnectOptions,
  readTextIfExists,
  resolveEngineEndpoint,
} from '../../../src/docker/engine-endpoint.js';
import { UsageError } from '../../../src/errors.js';

const noFiles = async () => undefined;

function resolve(env: Env, insecure = false) {
  return resolveEngineEndpoint({ env, readText: readTextIfExists, insecure });
}

async function usageError(promise: Promise<unknown>): Promise<UsageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

/** A docker config folder with contexts, as `docker context create` leaves it. */
async function configDir(
  contexts: Record<string, { host: string; skipTlsVerify?: boolean; tls?: readonly ('ca' | 'cert' | 'key')[] }>,
  currentContext?: string,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dtool-docker-config-'));
  if (currentContext !== undefined) await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: {}, currentContext }));
  for (const [name, context] of Object.entries(contexts)) {
    const meta = join(dir, 'contexts', 'meta', contextId(name));
    await mkdir(meta, { recursive: true });
    await writeFile(
      join(meta, 'meta.json'),
      JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: context.host, SkipTLSVerify: context.skipTlsVerify ?? false } } }),
    );
    if (context.tls?.length) {
      const tls = join(dir, 'contexts', 'tls', contextId(name), 'docker');
      await mkdir(tls, { recursive: true });
      for (const file of context.tls) await writeFile(join(tls, `${file}.pem`), `${file} of ${name}`);
    }
  }
  return dir;
}

describe('resolveEngineEndpoint', () => {
  it('is the default socket with nothing set', async () => {
    expect(await resolveEngineEndpoint({ env: {}, readText: noFiles })).toEqual({ kind: 'unix', address: DEFAULT_ENGINE_ADDRESS, source: 'default' });
    expect(await resolve({ HOME: await mkdtemp(join(tmpdir(), 'dtool-home-')) })).toMatchObject({ source: 'default' });
  });

  it('takes DOCKER_HOST: unix, ssh, and tcp with TLS from DOCKER_CERT_PATH', async () => {
    expect(await resolve({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).toEqual({
      kind: 'unix',
      address: 'unix:///run/user/1000/docker.sock',
      source: 'DOCKER_HOST',
    });
    expect(await resolve({ DOCKER_HOST: 'ssh://ops@build-1:2222' })).toEqual({
      kind: 'ssh',
      address: 'ssh://ops@build-1:2222',
      source: 'DOCKER_HOST',
    });
    expect(await resolve({ DOCKER_HOST: 'tcp://10.0.0.5:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' })).toEqual({
      kind: 'tcp',
      address: 'tcp://10.0.0.5:2376',
      tls: { ca: '/certs/ca.pem', cert: '/certs/cert.pem', key: '/certs/key.pem', verify: true },
      source: 'DOCKER_HOST',
    });
  });

  it('looks for the certificates in ~/.docker when DOCKER_CERT_PATH is unset, and in $DOCKER_CONFIG when that is set', async () => {
    const home = { DOCKER_HOST: 'tcp://10.0.0.5:2376', DOCKER_TLS_VERIFY: '1', HOME: '/home/ops' };
    expect((await resolve(home)).tls).toMatchObject({ ca: '/home/ops/.docker/ca.pem', key: '/home/ops/.docker/key.pem' });
    expect((await resolve({ ...home, DOCKER_CONFIG: '/etc/docker-client' })).tls).toMatchObject({ ca: '/etc/docker-client/ca.pem' });
  });

  it('defaults the tcp port as the docker CLI does: 2376 with TLS, 2375 without; a bare host:port is tcp', async () => {
    expect((await resolve({ DOCKER_HOST: 'tcp://10.0.0.5', DOCKER_TLS_VERIFY: '1', HOME: '/h' })).address).toBe('tcp://10.0.0.5:2376');
    expect((await resolve({ DOCKER_HOST: 'tcp://10.0.0.5' }, true)).address).toBe('tcp://10.0.0.5:2375');
    expect(await resolve({ DOCKER_HOST: '10.0.0.5:4000', DOCKER_TLS_VERIFY: '1', HOME: '/h' })).toMatchObject({
      kind: 'tcp',
      address: 'tcp://10.0.0.5:4000',
    });
  });

  it('DOCKER_TLS alone encrypts without verifying the engine', async () => {
    expect((await resolve({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS: '1', DOCKER_CERT_PATH: '/c' })).tls).toEqual({
      ca: '/c/ca.pem',
      cert: '/c/cert.pem',
      key: '/c/key.pem',
      verify: false,
    });
  });

  it('refuses plain tcp:// unless insecure, naming the engine and the way out', async () => {
    const error = await usageError(resolve({ DOCKER_HOST: 'tcp://10.0.0.5:2375' }));
    expect(error.message).toContain('tcp://10.0.0.5:2375');
    expect(error.message).toContain('without TLS');
    expect(error.hint).toContain('--insecure');
    expect(await resolve({ DOCKER_HOST: 'tcp://10.0.0.5:2375' }, true)).toEqual({
      kind: 'tcp',
      address: 'tcp://10.0.0.5:2375',
      source: 'DOCKER_HOST',
    });
  });

  it('refuses addresses it cannot use', async () => {
    expect((await usageError(resolve({ DOCKER_HOST: 'npipe:////./pipe/docker_engine' }))).message).toMatch(/unsupported engine address/);
    expect((await usageError(resolve({ DOCKER_HOST: 'unix://relative.sock' }))).message).toMatch(/absolute socket path/);
    expect((await usageError(resolve({ DOCKER_HOST: 'tcp://h:2376/prefix', DOCKER_TLS_VERIFY: '1', HOME: '/h' }))).message).toMatch(/path prefix/);
  });

  it('takes the current context from config.json, with its TLS material and SkipTLSVerify', async () => {
    const dir = await configDir(
      {
        prod: { host: 'tcp://prod.example:2376', tls: ['ca', 'cert', 'key'] },
        lab: { host: 'tcp://lab.example:2376', skipTlsVerify: true },
        remote: { host: 'ssh://ops@build-1' },
      },
      'prod',
    );
    const tlsDir = join(dir, 'contexts', 'tls', contextId('prod'), 'docker');
    expect(await resolve({ DOCKER_CONFIG: dir })).toEqual({
      kind: 'tcp',
      address: 'tcp://prod.example:2376',
      tls: { ca: join(tlsDir, 'ca.pem'), cert: join(tlsDir, 'cert.pem'), key: join(tlsDir, 'key.pem'), verify: true },
      source: 'context prod',
    });
    expect(await resolve({ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'lab' })).toEqual({
      kind: 'tcp',
      address: 'tcp://lab.example:2376',
      tls: { verify: false },
      source: 'context lab',
    });
    expect(await resolve({ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'remote' })).toEqual({
      kind: 'ssh',
      address: 'ssh://ops@build-1',
      source: 'context remote',
    });
  });

  it('finds the config folder under HOME', async () => {
    const home = await mkdtemp(join(tmpdir(), 'dtool-home-'));
    const dir = await configDir({ remote: { host: 'ssh://ops@build-1' } }, 'remote');
    await mkdir(join(home, '.docker'));
    const { rename } = await import('node:fs/promises');
    await rename(join(dir, 'config.json'), join(home, '.docker', 'config.json'));
    await rename(join(dir, 'contexts'), join(home, '.docker', 'contexts'));
    expect(await resolve({ HOME: home })).toMatchObject({ address: 'ssh://ops@build-1', source: 'context remote' });
  });

  it('precedence: DOCKER_HOST over DOCKER_CONTEXT over currentContext; context "default" is the default socket', async () => {
    const dir = await configDir({ a: { host: 'ssh://a' }, b: { host: 'ssh://b' } }, 'a');
    expect((await resolve({ DOCKER_CONFIG: dir })).source).toBe('context a');
    expect((await resolve({ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'b' })).source).toBe('context b');
    expect(await resolve({ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'b', DOCKER_HOST: 'unix:///x.sock' })).toEqual({
      kind: 'unix',
      address: 'unix:///x.sock',
      source: 'DOCKER_HOST',
    });
    expect(await resolve({ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'default' })).toEqual({
      kind: 'unix',
      address: DEFAULT_ENGINE_ADDRESS,
      source: 'default',
    });
    const onDefault = await configDir({}, 'default');
    expect((await resolve({ DOCKER_CONFIG: onDefault })).source).toBe('default');
  });

  it('a tcp context without TLS material is plain tcp, refused unless insecure', async () => {
    const dir = await configDir({ plain: { host: 'tcp://10.1.1.1:2375' } }, 'plain');
    expect((await usageError(resolve({ DOCKER_CONFIG: dir }))).message).toMatch(/context plain.*without TLS/);
    expect(await resolve({ DOCKER_CONFIG: dir }, true)).toEqual({ kind: 'tcp', address: 'tcp://10.1.1.1:2375', source: 'context plain' });
  });

  it('a context that does not exist, or has no docker endpoint, is a usage error', async () => {
    const dir = await configDir({ empty: { host: '' } }, 'gone');
    expect((await usageError(resolve({ DOCKER_CONFIG: dir }))).message).toMatch(/"gone", which does not exist/);
    expect((await usageError(resolve({ DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'empty' }))).message).toMatch(/no docker endpoint/);
  });

  it('a config.json that is not JSON is a usage error naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dtool-docker-config-'));
    await writeFile(join(dir, 'config.json'), '{not json');
    expect((await usageError(resolve({ DOCKER_CONFIG: dir }))).message).toContain(join(dir, 'config.json'));
  });
});

describe('endpointForAddress', () => {
  const own = {
    kind: 'tcp',
    address: 'tcp://m:2376',
    tls: { ca: '/c/ca.pem', cert: '/c/cert.pem', key: '/c/key.pem', verify: true },
    source: 'context prod',
  } as const;

  it("gives a swarm node's tcp address the TLS material of this process's engine", () => {
    expect(endpointForAddress('tcp://10.0.0.7:2376', own, { env: {} })).toEqual({ ...own, address: 'tcp://10.0.0.7:2376' });
  });

  it("uses the environment's TLS when the own engine has none, and refuses plain tcp unless insecure", () => {
    const local = { kind: 'unix', address: DEFAULT_ENGINE_ADDRESS, source: 'default' } as const;
    expect(endpointForAddress('tcp://n:2376', local, { env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/e' } }).tls).toMatchObject({
      ca: '/e/ca.pem',
    });
    expect(() => endpointForAddress('tcp://n:2375', local, { env: {} })).toThrow(UsageError);
    expect(endpointForAddress('tcp://n:2375', local, { env: {}, insecure: true }).tls).toBeUndefined();
    expect(endpointForAddress('unix:///var/run/docker.sock', own, { env: {} })).toMatchObject({ kind: 'unix' });
  });
});

describe('engineConnectOptions', () => {
  const files: Record<string, string> = { '/c/ca.pem': 'CA', '/c/cert.pem': 'CERT', '/c/key.pem': 'KEY' };
  const readBytes = async (path: string) => {
    if (files[path] === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return Buffer.from(files[path]);
  };
  const tcp = { kind: 'tcp', address: 'tcp://10.0.0.5:2376', source: 'DOCKER_HOST' } as const;

  it('a socket: its path, and every other field explicitly unset', async () => {
    const options = await engineConnectOptions({ kind: 'unix', address: 'unix:///var/run/docker.sock', source: 'default' });
    expect(options).toMatchObject({ socketPath: '/var/run/docker.sock', protocol: 'http' });
    // Left out, the client would fill them from process.env.
    expect(Object.keys(options)).toEqual(expect.arrayContaining(['host', 'port', 'ca', 'cert', 'key']));
    expect(options.host).toBeUndefined();
  });

  it('TLS: reads the three files and speaks https', async () => {
    const options = await engineConnectOptions(
      { ...tcp, tls: { ca: '/c/ca.pem', cert: '/c/cert.pem', key: '/c/key.pem', verify: true } },
      { readBytes },
    );
    expect(options).toMatchObject({ host: '10.0.0.5', port: 2376, protocol: 'https', socketPath: undefined });
    expect([options.ca?.toString(), options.cert?.toString(), options.key?.toString()]).toEqual(['CA', 'CERT', 'KEY']);
    expect(options.agent).toBeUndefined();
  });

  it('a missing certificate file is a clear usage error naming the engine and the file', async () => {
    const error = await usageError(
      engineConnectOptions({ ...tcp, tls: { ca: '/nowhere/ca.pem', cert: '/c/cert.pem', key: '/c/key.pem', verify: true } }, { readBytes }),
    );
    expect(error.message).toBe(
      'cannot use the Docker engine at tcp://10.0.0.5:2376 (DOCKER_HOST): its TLS CA certificate /nowhere/ca.pem: no such file',
    );
    expect(error.hint).toContain('DOCKER_CERT_PATH');
  });

  it('a client certificate without its key is refused', async () => {
    const error = await usageError(
      engineConnectOptions({ ...tcp, tls: { ca: '/c/ca.pem', cert: '/c/cert.pem', key: '/none/key.pem', verify: false } }, { readBytes }),
    );
    expect(error.message).toMatch(/client key is missing/);
  });

  it('without verification: missing files are skipped and an agent turns certificate checks off', async () => {
    const options = await engineConnectOptions({ ...tcp, tls: { ca: '/none/ca.pem', verify: false } }, { readBytes });
    expect(options.protocol).toBe('https');
    expect(options.ca).toBeUndefined();
    expect(options.agent?.options.rejectUnauthorized).toBe(false);
  });

  it('plain tcp (insecure) is http; ssh takes the user, the port and the ssh agent', async () => {
    expect(await engineConnectOptions(tcp)).toMatchObject({ host: '10.0.0.5', port: 2376, protocol: 'http' });
    expect(
      await engineConnectOptions({ kind: 'ssh', address: 'ssh://ops@build-1', source: 'DOCKER_HOST' }, { env: { SSH_AUTH_SOCK: '/run/agent.sock' } }),
    ).toMatchObject({ protocol: 'ssh', host: 'build-1', port: 22, username: 'ops', sshOptions: { agent: '/run/agent.sock' } });
  });
});
