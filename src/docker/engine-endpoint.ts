/**
 * Which Docker engine this process talks to, and how: resolved once, from the environment and
 * the docker CLI's own configuration, the way the docker CLI resolves it, so `dtool` and
 * `docker` always name the same engine. `resolveEngineEndpoint` is pure (the environment and
 * a file reader are handed in); `engineConnectOptions` turns an endpoint into the client's
 * connection options, reading the TLS material.
 *
 * Precedence (docker CLI): DOCKER_HOST, then DOCKER_CONTEXT, then `currentContext` in
 * `$DOCKER_CONFIG/config.json` (default ~/.docker), then the default socket. Context
 * "default" is the default socket.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

export type EngineKind = 'unix' | 'tcp' | 'ssh';

/** Where the endpoint came from, in the words `dtool doctor` shows. */
export type EngineSource = 'DOCKER_HOST' | `context ${string}` | 'default';

/** TLS material as file paths; a file left out is not sent (or, for `ca`, the system's roots are used). */
export interface EngineTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Whether the engine's certificate is checked against `ca` and its address. */
  readonly verify: boolean;
}

export interface EngineEndpoint {
  readonly kind: EngineKind;
  /** As DOCKER_HOST spells it: `unix:///var/run/docker.sock`, `tcp://host:2376`, `ssh://user@host`. */
  readonly address: string;
  /** tcp only; absent on a plain (unencrypted) tcp engine, which needs `insecure`. */
  readonly tls?: EngineTls;
  readonly source: EngineSource;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads a text file; `undefined` when it does not exist. */
export type ReadText = (path: string) => Promise<string | undefined>;

export const DEFAULT_ENGINE_ADDRESS = 'unix:///var/run/docker.sock';

export interface ResolveOptions {
  readonly env: Env;
  readonly readText: ReadText;
  /** Allows a tcp:// engine without TLS (--insecure, DTOOL_INSECURE=1). */
  readonly insecure?: boolean;
}

/** The docker CLI's config folder: $DOCKER_CONFIG, else ~/.docker; undefined with neither HOME nor DOCKER_CONFIG. */
export function dockerConfigDir(env: Env): string | undefined {
  if (env.DOCKER_CONFIG) return env.DOCKER_CONFIG;
  return env.HOME ? join(env.HOME, '.docker') : undefined;
}

/** A context's folder name under contexts/meta and contexts/tls, as the docker CLI derives it. */
export function contextId(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

function parseJson(text: string, path: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`cannot parse ${path}: ${(error as Error).message}`, { cause: error });
  }
  throw new UsageError(`cannot parse ${path}: not a JSON object`);
}

interface ParsedAddress {
  readonly kind: EngineKind;
  readonly address: string;
}

/** DOCKER_HOST's forms: `tcp://h:p`, bare `h:p` (tcp), `unix:///path`, `ssh://[user@]host[:port]`. */
function parseAddress(raw: string, source: string, tlsPort: boolean): ParsedAddress {
  const value = raw.includes('://') ? raw : `tcp://${raw}`;
  const scheme = value.slice(0, value.indexOf('://'));
  if (scheme === 'unix') {
    const path = value.slice('unix://'.length);
    if (!path.startsWith('/')) throw new UsageError(`${source}: "${raw}" names no absolute socket path (unix:///var/run/docker.sock)`);
    return { kind: 'unix', address: value };
  }
  if (scheme !== 'tcp' && scheme !== 'ssh') {
    throw new UsageError(`${source}: unsupported engine address "${raw}" (dtool knows unix://, tcp:// and ssh://)`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new UsageError(`${source}: "${raw}" is not an engine address like tcp://host:2376`, { cause: error });
  }
  if (!url.hostname) throw new UsageError(`${source}: "${raw}" names no host`);
  if (scheme === 'ssh') return { kind: 'ssh', address: value };
  if (url.pathname !== '/' && url.pathname !== '')
    throw new UsageError(`${source}: "${raw}": dtool does not support a path prefix on tcp:// engines`);
  // The docker CLI's default ports: 2376 with TLS, 2375 without.
  const port = url.port || (tlsPort ? '2376' : '2375');
  return { kind: 'tcp', address: `tcp://${url.hostname}:${port}` };
}

function refusePlainTcp(endpoint: EngineEndpoint, insecure: boolean): EngineEndpoint {
  if (endpoint.kind !== 'tcp' || endpoint.tls || insecure) return endpoint;
  throw new UsageError(
    `refusing the Docker engine at ${endpoint.address} (${endpoint.source}): plain tcp:// without TLS lets anyone on the network run root containers, and lets them see and change what dtool sends`,
    {
      hint: 'use TLS (DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH with ca.pem, cert.pem, key.pem), an ssh:// engine, or pass --insecure (DTOOL_INSECURE=1) if this network is trusted',
    },
  );
}

/** TLS from DOCKER_TLS_VERIFY (verify) or DOCKER_TLS (encrypt only), with the files in DOCKER_CERT_PATH (default ~/.docker). */
function tlsFromEnv(env: Env): EngineTls | undefined {
  // As the docker CLI: any non-empty DOCKER_TLS_VERIFY turns verification on.
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  if (!verify && !env.DOCKER_TLS) return undefined;
  const dir = env.DOCKER_CERT_PATH || dockerConfigDir(env);
  if (!dir) throw new UsageError('TLS is on (DOCKER_TLS_VERIFY or DOCKER_TLS) but neither DOCKER_CERT_PATH nor HOME says where its certificates are');
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), verify };
}

/** An address as DOCKER_HOST spells it, with TLS from the environment. */
function fromDockerHost(env: Env, raw: string): EngineEndpoint {
  const tls = tlsFromEnv(env);
  const parsed = parseAddress(raw, 'DOCKER_HOST', tls !== undefined);
  return { ...parsed, ...(parsed.kind === 'tcp' && tls ? { tls } : {}), source: 'DOCKER_HOST' };
}

async function fromContext(name: string, configDir: string | undefined, readText: ReadText, origin: string): Promise<EngineEndpoint> {
  if (name === 'default') return { kind: 'unix', address: DEFAULT_ENGINE_ADDRESS, source: 'default' };
  const source: EngineSource = `context ${name}`;
  if (!configDir) throw new UsageError(`${origin} names the docker context "${name}", but neither DOCKER_CONFIG nor HOME says where contexts live`);
  const id = contextId(name);
  const metaPath = join(configDir, 'contexts', 'meta', id, 'meta.json');
  const text = await readText(metaPath);
  if (text === undefined) {
    throw new UsageError(`${origin} names the docker context "${name}", which does not exist (no ${metaPath})`, {
      hint: 'list contexts with `docker context ls`, or unset DOCKER_CONTEXT',
    });
  }
  const meta = parseJson(text, metaPath);
  const endpoints = (meta.Endpoints ?? {}) as Record<string, { Host?: unknown; SkipTLSVerify?: unknown } | undefined>;
  const host = endpoints.docker?.Host;
  if (typeof host !== 'string' || host === '')
    throw new UsageError(`docker context "${name}" has no docker endpoint (Endpoints.docker.Host in ${metaPath})`);
  const skipVerify = endpoints.docker?.SkipTLSVerify === true;
  // The context's TLS material: whichever of the three files exist.
  const tlsDir = join(configDir, 'contexts', 'tls', id, 'docker');
  const files: { -readonly [K in 'ca' | 'cert' | 'key']?: string } = {};
  for (const file of ['ca', 'cert', 'key'] as const) {
    const path = join(tlsDir, `${file}.pem`);
    if ((await readText(path)) !== undefined) files[file] = path;
  }
  // As the docker CLI: TLS when the context holds TLS material or says to skip verification.
  const useTls = skipVerify || Object.keys(files).length > 0;
  const parsed = parseAddress(host, `docker context "${name}"`, useTls);
  return { ...parsed, ...(parsed.kind === 'tcp' && useTls ? { tls: { ...files, verify: !skipVerify } } : {}), source };
}

/**
 * The engine this process talks to. Throws a UsageError for an address dtool cannot use, a
 * context that does not exist, or a plain tcp:// engine without `insecure`.
 */
export async function resolveEngineEndpoint(options: ResolveOptions): Promise<EngineEndpoint> {
  const { env, readText } = options;
  let endpoint: EngineEndpoint;
  if (env.DOCKER_HOST) {
    endpoint = fromDockerHost(env, env.DOCKER_HOST);
  } else if (env.DOCKER_CONTEXT) {
    endpoint = await fromContext(env.DOCKER_CONTEXT, dockerConfigDir(env), readText, 'DOCKER_CONTEXT');
  } else {
    const configDir = dockerConfigDir(env);
    const configPath = configDir ? join(configDir, 'config.json') : undefined;
    const text = configPath ? await readText(configPath) : undefined;
    const current = text !== undefined && configPath ? parseJson(text, configPath).currentContext : undefined;
    endpoint =
      typeof current === 'string' && current !== ''
        ? await fromContext(current, configDir, readText, `currentContext in ${configPath}`)
        : { kind: 'unix', address: DEFAULT_ENGINE_ADDRESS, source: 'default' };
  }
  return refusePlainTcp(endpoint, options.insecure ?? false);
}

/**
 * Another engine, by its address (a swarm node's): tcp:// gets the TLS material of this
 * process's own engine when that one is a TLS engine, else the environment's.
 */
export function endpointForAddress(
  address: string,
  own: EngineEndpoint | undefined,
  options: { readonly env: Env; readonly insecure?: boolean },
): EngineEndpoint {
  const tls = own?.tls ?? tlsFromEnv(options.env);
  const parsed = parseAddress(address, 'engine address', tls !== undefined);
  const endpoint: EngineEndpoint = { ...parsed, ...(parsed.kind === 'tcp' && tls ? { tls } : {}), source: own?.source ?? 'DOCKER_HOST' };
  return refusePlainTcp(endpoint, options.insecure ?? false);
}

/** Connection options for the Docker client (dockerode's DockerOptions). */
export interface EngineConnectOptions {
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number;
  readonly protocol?: 'http' | 'https' | 'ssh';
  readonly username?: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly agent?: Agent;
  readonly sshOptions?: { readonly agent?: string };
}

/** Reads a file's bytes. */
export type ReadBytes = (path: string) => Promise<Buffer>;

async function readTlsFile(endpoint: EngineEndpoint, path: string, what: string, readBytes: ReadBytes): Promise<Buffer> {
  try {
    return await readBytes(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UsageError(`cannot use the Docker engine at ${endpoint.address} (${endpoint.source}): its TLS ${what} ${path}: ${reason}`, {
      cause: error,
      hint:
        endpoint.source === 'DOCKER_HOST'
          ? 'set DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem (default ~/.docker)'
          : "re-create the context's TLS material: docker context update --docker host=…,ca=…,cert=…,key=…",
    });
  }
}

/**
 * The client's connection options for an endpoint. Every field is given, even as
 * `undefined`: the client otherwise fills what is missing from process.env (DOCKER_HOST,
 * DOCKER_CERT_PATH), which would quietly mix two engines' settings.
 */
export async function engineConnectOptions(
  endpoint: EngineEndpoint,
  options: { readonly env?: Env; readonly readBytes?: ReadBytes } = {},
): Promise<EngineConnectOptions> {
  const readBytes = options.readBytes ?? ((path: string) => readFile(path));
  const unset = { socketPath: undefined, host: undefined, port: undefined, ca: undefined, cert: undefined, key: undefined };
  if (endpoint.kind === 'unix') return { ...unset, socketPath: endpoint.address.slice('unix://'.length), protocol: 'http' };
  const url = new URL(endpoint.address);
  if (endpoint.kind === 'ssh') {
    const agent = options.env?.SSH_AUTH_SOCK;
    return {
      ...unset,
      protocol: 'ssh',
      host: url.hostname,
      port: Number(url.port || 22),
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      sshOptions: agent ? { agent } : {},
    };
  }
  const base = { ...unset, host: url.hostname, port: Number(url.port) };
  const tls = endpoint.tls;
  if (!tls) return { ...base, protocol: 'http' };
  const material: { -readonly [K in 'ca' | 'cert' | 'key']?: Buffer } = {};
  const names = { ca: 'CA certificate', cert: 'client certificate', key: 'client key' } as const;
  for (const file of ['ca', 'cert', 'key'] as const) {
    const path = tls[file];
    if (path === undefined) continue;
    try {
      material[file] = await readTlsFile(endpoint, path, names[file], readBytes);
    } catch (error) {
      // Without verification the docker CLI sends what exists and skips what does not.
      if (tls.verify) throw error;
    }
  }
  if ((material.cert === undefined) !== (material.key === undefined)) {
    throw new UsageError(
      `cannot use the Docker engine at ${endpoint.address} (${endpoint.source}): its TLS ${material.cert ? 'client key' : 'client certificate'} is missing; a client certificate needs both cert.pem and key.pem`,
    );
  }
  return {
    ...base,
    protocol: 'https',
    ...material,
    // The client passes no rejectUnauthorized of its own; an agent carries it.
    ...(tls.verify ? {} : { agent: new Agent({ rejectUnauthorized: false }) }),
  };
}

/** Reads a text file, `undefined` when it is not there: the reader `resolveEngineEndpoint` needs, on the real filesystem. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}
