/**
 * The only file that imports dockerode. Engine quirks are mapped here: 404 becomes
 * `undefined` (or NotFoundError), an unreachable socket becomes EngineUnavailableError, and
 * a build stream that ended with an `errorDetail` becomes ImageBuildError (dockerode's
 * followProgress would report it as a success).
 */
import Module, { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { EngineUnavailableError, ImageBuildError, NotFoundError, DtoolError } from '../errors.js';
import type {
  Attachment,
  BuildImageOptions,
  ContainerEvent,
  ContainerCreateOptions,
  ContainerDetails,
  ContainerSummary,
  DockerPort,
  EngineInfo,
  EngineVersion,
  ImageDetails,
  VolumeSummary,
  WaitCondition,
} from './port.js';

interface EngineError {
  readonly statusCode?: number;
  readonly code?: string;
  readonly message?: string;
  readonly json?: { readonly message?: string };
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT']);

function engineMessage(error: EngineError): string {
  return (error.json?.message ?? error.message ?? String(error)).trim();
}

/** Maps a dockerode error to our hierarchy; `what` names the object for the message. */
function mapError(error: unknown, what: string): DtoolError {
  if (error instanceof DtoolError) return error;
  const engineError = error as EngineError;
  if (engineError.code && UNREACHABLE_CODES.has(engineError.code)) {
    return new EngineUnavailableError(`Docker engine unreachable (${engineError.code})`, { cause: error });
  }
  if (engineError.statusCode === 404) {
    return new NotFoundError(`${what}: ${engineMessage(engineError)}`, { cause: error });
  }
  if (engineError.statusCode === 409) {
    return new DtoolError('CONFLICT', `${what}: ${engineMessage(engineError)}`, { cause: error });
  }
  return new DtoolError('INTERNAL', `${what}: ${engineMessage(engineError)}`, { cause: error });
}

function isNotFound(error: unknown): boolean {
  return (error as EngineError).statusCode === 404;
}

interface ModuleInternals {
  _load(request: string, parent: { filename?: string } | undefined, isMain: boolean): unknown;
}

/**
 * dockerode loads, up front, ssh2 (for ssh:// engines) and gRPC with protobufjs (for
 * BuildKit sessions): 22 MB of memory and ~40 ms on every command, for code dtool runs only
 * with an ssh:// engine, or never. While dockerode loads, those two modules (both a single
 * function) are replaced by stand-ins that load the real module on their first call.
 */
const DEFERRED_MODULES: readonly { readonly request: string; readonly from: string }[] = [
  { request: './ssh', from: '/docker-modem/lib/modem.js' },
  { request: './session', from: '/dockerode/lib/docker.js' },
];

function loadDockerode(): typeof Docker {
  const loader = Module as unknown as ModuleInternals;
  const load = loader._load;
  loader._load = function deferring(this: unknown, request, parent, isMain) {
    const deferred = DEFERRED_MODULES.some((d) => d.request === request && parent?.filename?.endsWith(d.from));
    if (!deferred) return load.call(this, request, parent, isMain);
    let real: ((...args: unknown[]) => unknown) | undefined;
    return (...args: unknown[]) => {
      real ??= load.call(this, request, parent, isMain) as (...args: unknown[]) => unknown;
      return real(...args);
    };
  };
  try {
    return createRequire(import.meta.url)('dockerode') as typeof Docker;
  } finally {
    loader._load = load;
  }
}

let DockerClass: typeof Docker | undefined;

export class DockerodeAdapter implements DockerPort {
  readonly #docker: Docker;

  /** With no options, dockerode honours DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. */
  constructor(options?: Docker.DockerOptions) {
    DockerClass ??= loadDockerode();
    this.#docker = new DockerClass(options);
  }

  async ping(): Promise<void> {
    try {
      await this.#docker.ping();
    } catch (error) {
      throw mapError(error, 'ping');
    }
  }

  async version(): Promise<EngineVersion> {
    try {
      const v = await this.#docker.version();
      return { serverVersion: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch };
    } catch (error) {
      throw mapError(error, 'version');
    }
  }

  async info(): Promise<EngineInfo> {
    try {
      const info = await this.#docker.info();
      return {
        storageDriver: String(info.Driver ?? ''),
        cgroupVersion: String(info.CgroupVersion ?? ''),
        securityOptions: (info.SecurityOptions ?? []) as string[],
      };
    } catch (error) {
      throw mapError(error, 'info');
    }
  }

  async inspectImage(reference: string): Promise<ImageDetails | undefined> {
    try {
      const image = await this.#docker.getImage(reference).inspect();
      return {
        id: image.Id,
        tags: image.RepoTags ?? [],
        sizeBytes: image.Size,
        labels: image.Config?.Labels ?? {},
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw mapError(error, `image ${reference}`);
    }
  }

  async tagImage(imageId: string, repository: string, tag: string): Promise<void> {
    try {
      await this.#docker.getImage(imageId).tag({ repo: repository, tag });
    } catch (error) {
      throw mapError(error, `tag ${repository}:${tag}`);
    }
  }

  async buildImage(context: Readable, options: BuildImageOptions): Promise<string> {
    const [firstTag, ...otherTags] = options.tags;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.#docker.buildImage(context, {
        t: firstTag,
        buildargs: options.buildArgs ? { ...options.buildArgs } : undefined,
        labels: options.labels ? { ...options.labels } : undefined,
        rm: true,
        forcerm: true,
        abortSignal: options.signal,
      } as Docker.ImageBuildOptions);
    } catch (error) {
      throw mapError(error, `build ${firstTag}`);
    }
    const imageId = await followBuild(stream, options.onOutput);
    for (const tag of otherTags) {
      const [repository, version] = splitTag(tag);
      await this.tagImage(imageId, repository, version);
    }
    return imageId;
  }

  async inspectContainer(nameOrId: string): Promise<ContainerDetails | undefined> {
    try {
      const c = await this.#docker.getContainer(nameOrId).inspect();
      const networks = Object.entries(c.NetworkSettings?.Networks ?? {}).map(([name, n]) => ({
        name,
        ipAddress: n.IPAddress ?? '',
      }));
      return {
        id: c.Id,
        name: c.Name.replace(/^\//, ''),
        image: c.Config.Image,
        running: c.State.Running,
        status: c.State.Status,
        labels: c.Config.Labels ?? {},
        networkMode: c.HostConfig.NetworkMode ?? 'default',
        networks,
        exitCode: c.State.ExitCode,
        mounts: (c.Mounts ?? []).map((m) => ({ type: m.Type, source: m.Source, destination: m.Destination })),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw mapError(error, `container ${nameOrId}`);
    }
  }

  async listContainers(filter: { labels?: readonly string[]; all?: boolean }): Promise<ContainerSummary[]> {
    try {
      const list = await this.#docker.listContainers({
        all: filter.all ?? false,
        filters: JSON.stringify({ label: filter.labels ?? [] }),
      });
      return list.map((c) => ({
        id: c.Id,
        // A linked container also lists `/<linker>/<alias>` among its names: take its own.
        name: (c.Names.find((n) => n.lastIndexOf('/') === 0) ?? c.Names[0] ?? c.Id).replace(/^\//, ''),
        state: c.State,
        labels: c.Labels ?? {},
      }));
    } catch (error) {
      throw mapError(error, 'list containers');
    }
  }

  async createContainer(options: ContainerCreateOptions): Promise<string> {
    try {
      const container = await this.#docker.createContainer(options as unknown as Docker.ContainerCreateOptions);
      return container.id;
    } catch (error) {
      throw mapError(error, `create container from ${options.Image}`);
    }
  }

  async attachContainer(id: string, options: { readonly stdin?: boolean } = {}): Promise<Attachment> {
    try {
      // With stdin the connection is hijacked (an upgraded, two-way socket) and is never
      // written to: it only has to stay open for as long as dtool waits on the helper.
      const stream = (await this.#docker.getContainer(id).attach({
        stream: true,
        stdin: options.stdin ?? false,
        hijack: options.stdin ?? false,
        stdout: true,
        stderr: true,
        logs: true,
      })) as unknown as NodeJS.ReadableStream & { destroy(): void };
      return { output: stream, close: () => stream.destroy() };
    } catch (error) {
      throw mapError(error, `attach ${id}`);
    }
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.#docker.getContainer(id).start();
    } catch (error) {
      throw mapError(error, `start ${id.slice(0, 12)}`);
    }
  }

  async waitContainer(id: string, condition: WaitCondition = 'not-running'): Promise<number> {
    try {
      const result = (await this.#docker.getContainer(id).wait({ condition })) as { StatusCode: number };
      return result.StatusCode;
    } catch (error) {
      throw mapError(error, `wait ${id.slice(0, 12)}`);
    }
  }

  async killContainer(id: string, signal = 'SIGKILL'): Promise<void> {
    try {
      await this.#docker.getContainer(id).kill({ signal });
    } catch (error) {
      // 404: already removed; 409: not running. Either way there is nothing left to kill.
      const status = (error as EngineError).statusCode;
      if (status === 404 || status === 409) return;
      throw mapError(error, `kill ${id.slice(0, 12)}`);
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.#docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      // 404: gone already; 409: removal already in progress.
      const status = (error as EngineError).statusCode;
      if (status === 404 || status === 409) return;
      throw mapError(error, `remove ${id.slice(0, 12)}`);
    }
  }

  async watchContainerEvents(onEvent: (event: ContainerEvent) => void, signal: AbortSignal): Promise<void> {
    let stream: NodeJS.ReadableStream & { destroy(): void };
    try {
      stream = (await this.#docker.getEvents({ filters: { type: ['container'] } })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    } catch (error) {
      throw mapError(error, 'events');
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        stream.destroy();
        resolve();
      };
      signal.addEventListener('abort', stop, { once: true });
      let pending = '';
      stream.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (!line) continue;
          const message = JSON.parse(line) as { Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
          const { name = '', ...labels } = message.Actor?.Attributes ?? {};
          onEvent({ action: message.Action ?? '', id: message.Actor?.ID ?? '', name, labels });
        }
      });
      stream.on('end', () => {
        signal.removeEventListener('abort', stop);
        resolve();
      });
      stream.on('error', () => {
        signal.removeEventListener('abort', stop);
        resolve();
      });
    });
  }

  async listVolumes(filter: { labels: readonly string[] }): Promise<VolumeSummary[]> {
    try {
      const result = await this.#docker.listVolumes({ filters: JSON.stringify({ label: filter.labels }) });
      return (result.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
    } catch (error) {
      throw mapError(error, 'list volumes');
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.#docker.getVolume(name).remove();
    } catch (error) {
      if (isNotFound(error)) return;
      throw mapError(error, `remove volume ${name}`);
    }
  }
}

function splitTag(reference: string): [string, string] {
  const colon = reference.lastIndexOf(':');
  if (colon <= reference.lastIndexOf('/')) return [reference, 'latest'];
  return [reference.slice(0, colon), reference.slice(colon + 1)];
}

interface BuildMessage {
  readonly stream?: string;
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string };
  readonly aux?: { readonly ID?: string };
}

/** Reads the engine's JSON build stream; an errorDetail anywhere fails the build. */
function followBuild(stream: NodeJS.ReadableStream, onOutput?: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    let pending = '';
    let imageId: string | undefined;
    let failure: string | undefined;
    const recentLines: string[] = [];

    const handle = (message: BuildMessage): void => {
      if (message.stream) {
        for (const line of message.stream.split('\n')) {
          if (line.trim() === '') continue;
          recentLines.push(line);
          if (recentLines.length > 20) recentLines.shift();
          onOutput?.(line);
        }
      }
      if (message.aux?.ID) imageId = message.aux.ID;
      if (message.errorDetail || message.error) failure = message.errorDetail?.message ?? message.error;
    };

    stream.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line) handle(JSON.parse(line) as BuildMessage);
      }
    });
    stream.on('error', (error) => reject(mapError(error, 'build')));
    stream.on('end', () => {
      if (pending.trim()) handle(JSON.parse(pending) as BuildMessage);
      const failingStep = [...recentLines].reverse().find((l) => /^Step \d+\/\d+ :/.test(l));
      if (failure !== undefined) {
        reject(
          new ImageBuildError(`image build failed${failingStep ? ` at ${failingStep}` : ''}: ${failure.trim()}`, {
            details: recentLines,
          }),
        );
      } else if (!imageId) {
        reject(new ImageBuildError('image build ended without an image ID', { details: recentLines }));
      } else {
        resolve(imageId);
      }
    });
  });
}
