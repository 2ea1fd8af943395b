/**
 * Effects are passed in, never reached for: the Docker engine, the clock, the reporter and
 * the cancellation signal. `createDefaultDeps` is the one place real adapters are built.
 */
import { readFile } from 'node:fs/promises';
import { loadConfig, type DtoolConfig } from './config.js';
import type { DockerPort } from './docker/port.js';
import { currentOwner, linuxProcessTable, type OwnerIdentity, type ProcessTable } from './host/owner.js';
import { silentReporter, type Reporter } from './events.js';
import { ImageCatalog } from './run/build-image.js';

export interface Clock {
  now(): Date;
}

export interface Deps {
  readonly docker: DockerPort;
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
   * ones this process uses for its own engine.
   */
  connectEngine(address: string): Promise<DockerPort>;
}

export const systemClock: Clock = { now: () => new Date() };

export async function createDefaultDeps(
  options: {
    readonly env?: Readonly<Record<string, string | undefined>>;
    readonly config?: Partial<DtoolConfig>;
    readonly reporter?: Reporter;
    readonly signal?: AbortSignal;
    readonly docker?: DockerPort;
  } = {},
): Promise<Deps> {
  const config = await loadConfig(options.env ?? process.env, (path) => readFile(path, 'utf8'), options.config);
  // Loaded on first use: dockerode (and ssh2 under it) cost more than `dtool --help` itself.
  const docker = options.docker ?? new (await import('./docker/dockerode-adapter.js')).DockerodeAdapter();
  const reporter = options.reporter ?? silentReporter;
  return {
    docker,
    config,
    images: new ImageCatalog(docker, config, reporter),
    reporter,
    clock: systemClock,
    owner: currentOwner(linuxProcessTable),
    processes: linuxProcessTable,
    ...(options.signal ? { signal: options.signal } : {}),
    connectEngine: async (address) => {
      const { DockerodeAdapter } = await import('./docker/dockerode-adapter.js');
      const url = new URL(address);
      return url.protocol === 'unix:'
        ? new DockerodeAdapter({ socketPath: url.pathname })
        : new DockerodeAdapter({ host: url.hostname, port: Number(url.port), protocol: url.protocol === 'ssh:' ? 'ssh' : 'http' });
    },
  };
}
