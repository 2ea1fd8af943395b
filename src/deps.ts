/**
 * Effects are passed in, never reached for: the Docker engine, the clock, the reporter and
 * the cancellation signal. `createDefaultDeps` is the one place real adapters are built.
 */
import { readFile } from 'node:fs/promises';
import { loadConfig, type DtoolConfig } from './config.js';
import { endpointForAddress, engineConnectOptions, readTextIfExists, resolveEngineEndpoint, type EngineEndpoint } from './docker/engine-endpoint.js';
import type { DockerPort } from './docker/port.js';
import { currentOwner, linuxProcessTable, type OwnerIdentity, type ProcessTable } from './host/owner.js';
import { silentReporter, type Reporter } from './events.js';
import { ImageCatalog } from './run/build-image.js';

export interface Clock {
  now(): Date;
}

export interface Deps {
  readonly docker: DockerPort;
  /** Which engine `docker` talks to, and how (absent when a DockerPort was handed in without one). */
  readonly endpoint?: EngineEndpoint;
  readonly config: DtoolConfig;
  readonly images: ImageCatalog;
  readonly reporter: Reporter;
  readonly clock: Clock;
  /** This process, as recorded on the helpers it creates. */
  readonly owner: OwnerIdentity;
  /** How to tell whether another helper's owner still runs. */
  readonly processes: ProcessTable;
  /** Aborting it stops running helpers and removes their containers. */
  readonly signal?: AbortSignal;
  /**
   * Opens another engine by its address, as DOCKER_HOST spells it (`unix://`, `tcp://`,
   * `ssh://`): a swarm node's engine, for loading images onto it. TLS settings are the
   * ones this process uses for its own engine; plain tcp:// is refused unless insecure.
   */
  connectEngine(address: string): Promise<DockerPort>;
}

export const systemClock: Clock = { now: () => new Date() };

/** DTOOL_INSECURE=1 (or true/yes): as --insecure. */
function insecureFromEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  return ['1', 'true', 'yes'].includes((env.DTOOL_INSECURE ?? '').toLowerCase());
}

export async function createDefaultDeps(
  options: {
    readonly env?: Readonly<Record<string, string | undefined>>;
    readonly config?: Partial<DtoolConfig>;
    readonly reporter?: Reporter;
    readonly signal?: AbortSignal;
    readonly docker?: DockerPort;
    /** The engine to open; resolved from `env` (DOCKER_HOST, DOCKER_CONTEXT, ~/.docker) when not given. */
    readonly endpoint?: EngineEndpoint;
    /** Allow a tcp:// engine without TLS; default: DTOOL_INSECURE in `env`. */
    readonly insecure?: boolean;
  } = {},
): Promise<Deps> {
  const env = options.env ?? process.env;
  const config = await loadConfig(env, (path) => readFile(path, 'utf8'), options.config);
  const insecure = options.insecure ?? insecureFromEnv(env);
  // Resolved even for a DockerPort handed in: a plain tcp:// engine is refused before any call.
  const endpoint = options.endpoint ?? (await resolveEngineEndpoint({ env, readText: readTextIfExists, insecure }));
  const open = async (target: EngineEndpoint): Promise<DockerPort> => {
    const connect = await engineConnectOptions(target, { env });
    // Loaded on first use: dockerode (and ssh2 under it) cost more than `dtool --help` itself.
    const { DockerodeAdapter } = await import('./docker/dockerode-adapter.js');
    return new DockerodeAdapter(connect as ConstructorParameters<typeof DockerodeAdapter>[0], { address: target.address });
  };
  const docker = options.docker ?? (await open(endpoint));
  const reporter = options.reporter ?? silentReporter;
  return {
    docker,
    endpoint,
    config,
    images: new ImageCatalog(docker, config, reporter),
    reporter,
    clock: systemClock,
    owner: currentOwner(linuxProcessTable),
    processes: linuxProcessTable,
    ...(options.signal ? { signal: options.signal } : {}),
    connectEngine: async (address) => open(endpointForAddress(address, endpoint, { env, insecure })),
  };
}
