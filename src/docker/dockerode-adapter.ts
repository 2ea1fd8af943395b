/**
 * The only file that imports dockerode. Engine quirks are mapped here: 404 becomes
 * `undefined` (or NotFoundError), an unreachable socket becomes EngineUnavailableError, and
 * a build stream that ended with an `errorDetail` becomes ImageBuildError (dockerode's
 * followProgress would report it as a success).
 */
import Module, { createRequire } from 'node:module';
import { type Duplex, PassThrough, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { EngineTlsError, EngineUnavailableError, ImageBuildError, NotFoundError, DtoolError, PrivilegeNotGrantedError } from '../errors.js';
import type {
  Attachment,
  BuildImageOptions,
  ContainerEvent,
  ContainerCreateOptions,
  ContainerDefinition,
  ContainerDetails,
  ContainerSummary,
  ExecResult,
  ExecSession,
  DockerPort,
  EngineInfo,
  EngineVersion,
  ImageDetails,
  ImageSummary,
  RestartPolicy,
  SecretSummary,
  ServiceCreateOptions,
  ServiceSummary,
  SwarmNode,
  SwarmTask,
  TaskLogs,
  VolumeSummary,
  WaitCondition,
} from './port.js';
import { NotSwarmManagerError } from '../swarm/errors.js';
import { TailBuffer } from './streams.js';

interface EngineError {
  readonly statusCode?: number;
  readonly code?: string;
  readonly message?: string;
  readonly json?: { readonly message?: string };
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT']);

/** Set by the adapter on every error of its engine's requests: which engine failed. */
const ENGINE_ADDRESS = Symbol('dtool.engineAddress');

/**
 * A failed TLS handshake, in Node's words, said plainly: the engine's certificate not trusted
 * (its CA unknown, self-signed, expired, another name), or our client certificate refused by
 * the engine (a TLS alert; under TLS 1.3 often only a reset before the handshake completed).
 */
function tlsFailure(error: EngineError): string | undefined {
  const code = error.code ?? '';
  const message = error.message ?? '';
  // OpenSSL's messages carry a prefix of hex and source paths; its reason is what people read.
  const reason = /:(sslv3 alert [^:]+|tlsv1[0-9]? alert [^:]+)/i.exec(message)?.[1] ?? message;
  const isTls =
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    /CERT|SIGNATURE|ISSUER/.test(code) ||
    /before secure TLS connection was established|alert (bad|unknown|certificate)|certificate/i.test(message) ||
    (code === 'EPROTO' && /ssl|tls/i.test(message));
  if (!isTls) return undefined;
  let what = 'TLS error';
  if (/ALTNAME/.test(code)) what = "the engine's certificate does not name this address";
  else if (/EXPIRED|NOT_YET_VALID/.test(code)) what = "the engine's certificate is expired or not yet valid";
  else if (/CERT|SIGNATURE|ISSUER/.test(code) && !code.startsWith('ERR_SSL_')) what = "the engine's certificate is not signed by our CA (ca.pem)";
  else if (/alert|before secure TLS/i.test(message)) what = 'the engine refused our client certificate (cert.pem, key.pem)';
  return `${what} (${code ? `${code}: ` : ''}${reason.trim()})`;
}

function engineMessage(error: EngineError): string {
  return (error.json?.message ?? error.message ?? String(error)).trim();
}

/** Maps a dockerode error to our hierarchy; `what` names the object for the message. */
function mapError(error: unknown, what: string): DtoolError {
  if (error instanceof DtoolError) return error;
  const engineError = error as EngineError;
  const address = (error as { [ENGINE_ADDRESS]?: string } | undefined)?.[ENGINE_ADDRESS];
  const tls = engineError.statusCode === undefined && !address?.match(/^(unix|ssh):/) ? tlsFailure(engineError) : undefined;
  if (tls !== undefined) {
    return new EngineTlsError(`TLS handshake with the Docker engine${address ? ` at ${address}` : ''} failed (${what}): ${tls}`, { cause: error });
  }
  if (engineError.code && UNREACHABLE_CODES.has(engineError.code)) {
    return new EngineUnavailableError(`Docker engine${address ? ` at ${address}` : ''} unreachable (${engineError.code})`, { cause: error });
  }
  if (engineError.statusCode === 400 && /HTTP request to an HTTPS server/i.test(engineMessage(engineError))) {
    return new EngineTlsError(`the Docker engine${address ? ` at ${address}` : ''} speaks TLS, and dtool spoke plain HTTP to it`, {
      cause: error,
      hint: 'set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) instead of --insecure',
    });
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

  /**
   * With no options, dockerode honours DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH;
   * dtool itself passes the options of a resolved endpoint (engine-endpoint.ts). `engine`
   * names the engine in connection and TLS errors.
   */
  constructor(options?: Docker.DockerOptions, engine?: { readonly address: string }) {
    DockerClass ??= loadDockerode();
    this.#docker = new DockerClass(options);
    if (engine) {
      // Every request goes through the modem's dial: its errors are tagged with the engine.
      const modem = this.#docker.modem as { dial(options: unknown, callback: (error: unknown, data?: unknown) => void): unknown };
      const dial = modem.dial.bind(modem);
      modem.dial = (dialOptions, callback) =>
        dial(dialOptions, (error, data) => {
          if (error && typeof error === 'object') Object.defineProperty(error, ENGINE_ADDRESS, { value: engine.address, configurable: true });
          callback(error, data);
        });
    }
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
        id: String(info.ID ?? ''),
        name: String(info.Name ?? ''),
        swarm: {
          nodeId: String(info.Swarm?.NodeID ?? ''),
          localState: String(info.Swarm?.LocalNodeState ?? 'inactive'),
          isManager: info.Swarm?.ControlAvailable === true,
        },
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
        env: image.Config?.Env ?? [],
        cmd: image.Config?.Cmd ?? undefined,
        entrypoint: asList(image.Config?.Entrypoint),
        created: image.Created,
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

  async listImages(filter: { reference?: string; labels?: readonly string[] }): Promise<ImageSummary[]> {
    try {
      const filters: Record<string, string[]> = {};
      if (filter.reference) filters.reference = [filter.reference];
      if (filter.labels?.length) filters.label = [...filter.labels];
      const list = await this.#docker.listImages({ filters: JSON.stringify(filters) });
      return list.map((i) => ({
        id: i.Id,
        tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
        created: i.Created,
        labels: i.Labels ?? {},
      }));
    } catch (error) {
      throw mapError(error, 'list images');
    }
  }

  async removeImage(reference: string): Promise<void> {
    try {
      await this.#docker.getImage(reference).remove({ noprune: false });
    } catch (error) {
      if (isNotFound(error)) return;
      throw mapError(error, `remove image ${reference}`);
    }
  }

  async saveImage(reference: string): Promise<Readable> {
    try {
      return (await this.#docker.getImage(reference).get()) as unknown as Readable;
    } catch (error) {
      throw mapError(error, `save image ${reference}`);
    }
  }

  async loadImage(tar: Readable): Promise<string[]> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.#docker.loadImage(tar, { quiet: true })) as unknown as NodeJS.ReadableStream;
    } catch (error) {
      throw mapError(error, 'load image');
    }
    // The answer is a JSON message stream, like a build's: an errorDetail is a failure.
    const loaded: string[] = [];
    await followJsonMessages(stream, (message) => {
      if (message.errorDetail || message.error) throw new DtoolError('INTERNAL', `load image: ${message.errorDetail?.message ?? message.error}`);
      const match = /^Loaded image(?: ID)?: (\S+)/.exec(message.stream?.trim() ?? '');
      if (match) loaded.push(match[1]!);
    });
    return loaded;
  }

  async commitContainer(id: string, target: { repository: string; tag: string; labels?: Readonly<Record<string, string>> }): Promise<string> {
    try {
      const result = (await this.#docker.getContainer(id).commit({
        repo: target.repository,
        tag: target.tag,
        pause: true,
        ...(target.labels ? { changes: Object.entries(target.labels).map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`) } : {}),
      })) as { Id: string };
      return result.Id;
    } catch (error) {
      throw mapError(error, `commit ${id}`);
    }
  }

  async buildImage(context: Readable, options: BuildImageOptions): Promise<string> {
    const [firstTag, ...otherTags] = options.tags;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.#docker.buildImage(context, {
        t: firstTag,
        ...(options.dockerfile ? { dockerfile: options.dockerfile } : {}),
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

  async inspectDefinition(nameOrId: string): Promise<ContainerDefinition | undefined> {
    try {
      const c = await this.#docker.getContainer(nameOrId).inspect();
      const id = c.Id;
      return {
        id,
        name: c.Name.replace(/^\//, ''),
        image: c.Config.Image,
        imageId: c.Image,
        running: c.State.Running,
        hostname: c.Config.Hostname ?? '',
        domainname: c.Config.Domainname ?? '',
        user: c.Config.User ?? '',
        workingDir: c.Config.WorkingDir ?? '',
        env: c.Config.Env ?? [],
        cmd: c.Config.Cmd ?? undefined,
        entrypoint: asList(c.Config.Entrypoint),
        labels: c.Config.Labels ?? {},
        exposedPorts: Object.keys(c.Config.ExposedPorts ?? {}),
        attachStdin: c.Config.AttachStdin ?? false,
        openStdin: c.Config.OpenStdin ?? false,
        hostConfig: c.HostConfig as unknown as ContainerDefinition['hostConfig'],
        networks: Object.entries(c.NetworkSettings?.Networks ?? {}).map(([name, n]) => ({
          name,
          // The engine adds the container's short ID as an alias of its own: not the user's.
          aliases: ((n.Aliases ?? []) as string[]).filter((alias) => !id.startsWith(alias)),
          ipAddress: n.IPAddress ?? '',
        })),
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
        imageId: c.ImageID,
        addresses: Object.fromEntries(Object.entries(c.NetworkSettings?.Networks ?? {}).map(([name, n]) => [name, n.IPAddress ?? ''])),
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
      // No `logs`: dtool attaches before start, and the engine attaches the output streams
      // before it answers, so nothing is missed. A log replay would only add a race: output
      // written while the engine still replays the (empty) log would arrive twice, once from
      // the log and once from the stream (seen under load: a helper's JSON line doubled).
      const stream = (await this.#docker.getContainer(id).attach({
        stream: true,
        stdin: options.stdin ?? false,
        hijack: options.stdin ?? false,
        stdout: true,
        stderr: true,
        logs: false,
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
      // Engines whose own capability bounding set is short refuse `Privileged` this way.
      if (/unable to apply caps/.test(engineMessage(error as EngineError))) {
        throw new PrivilegeNotGrantedError('this engine refuses privileged containers ("unable to apply caps")', {
          hint: 'use the explicit capability profile instead: --privileged-mode capabilities (or DTOOL_PRIVILEGED_MODE=capabilities); dtool doctor shows which works',
          cause: error,
        });
      }
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

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.#docker.getContainer(id).stop({ t: timeoutSeconds });
    } catch (error) {
      // 304: stopped already.
      if ((error as EngineError).statusCode === 304) return;
      throw mapError(error, `stop ${id.slice(0, 12)}`);
    }
  }

  async renameContainer(id: string, name: string): Promise<void> {
    try {
      await this.#docker.getContainer(id).rename({ name });
    } catch (error) {
      throw mapError(error, `rename ${id.slice(0, 12)} to ${name}`);
    }
  }

  async updateRestartPolicy(id: string, policy: RestartPolicy): Promise<void> {
    try {
      await this.#docker.getContainer(id).update({ RestartPolicy: policy });
    } catch (error) {
      throw mapError(error, `update ${id.slice(0, 12)}`);
    }
  }

  async connectNetwork(network: string, id: string, aliases: readonly string[] = []): Promise<void> {
    try {
      await this.#docker.getNetwork(network).connect({ Container: id, EndpointConfig: { Aliases: [...aliases] } });
    } catch (error) {
      throw mapError(error, `connect ${id.slice(0, 12)} to network ${network}`);
    }
  }

  async putArchive(id: string, path: string, tar: Readable): Promise<void> {
    try {
      await this.#docker.getContainer(id).putArchive(tar, { path });
    } catch (error) {
      throw mapError(error, `copy into ${id.slice(0, 12)}:${path}`);
    }
  }

  async getArchive(id: string, path: string): Promise<Readable> {
    try {
      return (await this.#docker.getContainer(id).getArchive({ path })) as unknown as Readable;
    } catch (error) {
      throw mapError(error, `copy from ${id.slice(0, 12)}:${path}`);
    }
  }

  async execStream(id: string, command: readonly string[], options: { stdin?: Readable; env?: readonly string[] } = {}): Promise<ExecSession> {
    const { stdin } = options;
    try {
      const exec = await this.#docker.getContainer(id).exec({
        Cmd: [...command],
        ...(options.env ? { Env: [...options.env] } : {}),
        AttachStdin: stdin !== undefined,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      });
      const stream = (await exec.start({ hijack: true, stdin: stdin !== undefined })) as unknown as Duplex;
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      this.#docker.modem.demuxStream(stream, stdout, stderr);
      // Ending stdin half-closes the connection: the command sees end-of-file.
      if (stdin) stdin.pipe(stream);
      const exitCode = new Promise<number>((resolve, reject) => {
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          stdout.end();
          stderr.end();
          exec.inspect().then(
            (info) => resolve(info.ExitCode ?? -1),
            (error: unknown) => reject(mapError(error, `exec in ${id.slice(0, 12)}`)),
          );
        };
        stream.once('end', finish);
        stream.once('close', finish);
        stream.once('error', (error) => reject(mapError(error, `exec in ${id.slice(0, 12)}`)));
        stdin?.once('error', (error) => {
          stream.destroy();
          reject(error);
        });
      });
      exitCode.catch(() => {});
      return { stdout, stderr, exitCode };
    } catch (error) {
      throw mapError(error, `exec in ${id.slice(0, 12)}`);
    }
  }

  async execInContainer(id: string, command: readonly string[], options: { timeoutMs?: number } = {}): Promise<ExecResult> {
    try {
      const exec = await this.#docker.getContainer(id).exec({ Cmd: [...command], AttachStdout: true, AttachStderr: true, Tty: false });
      const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as NodeJS.ReadableStream & { destroy(): void };
      const chunks: Buffer[] = [];
      let size = 0;
      await new Promise<void>((resolve, reject) => {
        const timer = options.timeoutMs
          ? setTimeout(() => {
              stream.destroy();
              reject(new DtoolError('TIMEOUT', `exec in ${id.slice(0, 12)} timed out after ${options.timeoutMs} ms`));
            }, options.timeoutMs)
          : undefined;
        stream.on('data', (chunk: Buffer) => {
          if (size < EXEC_OUTPUT_LIMIT) chunks.push(chunk);
          size += chunk.length;
        });
        stream.on('end', () => {
          clearTimeout(timer);
          resolve();
        });
        stream.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
      const { ExitCode } = await exec.inspect();
      return { exitCode: ExitCode ?? -1, output: demuxToText(Buffer.concat(chunks)) };
    } catch (error) {
      throw mapError(error, `exec in ${id.slice(0, 12)}`);
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

  async pushImage(reference: string): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.#docker.getImage(reference).push({})) as unknown as NodeJS.ReadableStream;
    } catch (error) {
      throw mapSwarmError(error, `push ${reference}`);
    }
    // Like a build's, a push stream that ends is no success: an errorDetail in it is a failure.
    await followJsonMessages(stream, (message) => {
      if (message.errorDetail || message.error)
        throw new DtoolError('INTERNAL', `push ${reference}: ${message.errorDetail?.message ?? message.error}`);
    });
  }

  async listNodes(): Promise<SwarmNode[]> {
    try {
      const nodes = (await this.#docker.listNodes()) as EngineNode[];
      return nodes.map((n) => ({
        id: n.ID,
        hostname: n.Description?.Hostname ?? '',
        role: n.Spec?.Role === 'manager' ? 'manager' : 'worker',
        availability: n.Spec?.Availability ?? 'active',
        state: n.Status?.State ?? 'unknown',
        labels: n.Spec?.Labels ?? {},
        address: n.Status?.Addr ?? '',
        os: n.Description?.Platform?.OS ?? '',
        arch: n.Description?.Platform?.Architecture ?? '',
      }));
    } catch (error) {
      throw mapSwarmError(error, 'list nodes');
    }
  }

  async createService(options: ServiceCreateOptions): Promise<string> {
    try {
      const service = await this.#docker.createService(options as unknown as Docker.CreateServiceOptions);
      return service.id;
    } catch (error) {
      throw mapSwarmError(error, `create service ${options.Name}`);
    }
  }

  async listServices(filter: { labels?: readonly string[] }): Promise<ServiceSummary[]> {
    try {
      const services = (await this.#docker.listServices({ filters: JSON.stringify({ label: filter.labels ?? [] }) })) as EngineService[];
      return services.map((s) => ({ id: s.ID, name: s.Spec?.Name ?? s.ID, labels: s.Spec?.Labels ?? {} }));
    } catch (error) {
      throw mapSwarmError(error, 'list services');
    }
  }

  async removeService(id: string): Promise<void> {
    try {
      await this.#docker.getService(id).remove();
    } catch (error) {
      if (isNotFound(error)) return;
      throw mapSwarmError(error, `remove service ${id.slice(0, 12)}`);
    }
  }

  async listTasks(filter: { serviceId: string }): Promise<SwarmTask[]> {
    try {
      const tasks = (await this.#docker.listTasks({ filters: JSON.stringify({ service: [filter.serviceId] }) })) as EngineTask[];
      return tasks.map((t) => ({
        id: t.ID,
        nodeId: t.NodeID ?? '',
        desiredState: t.DesiredState ?? '',
        state: t.Status?.State ?? '',
        message: t.Status?.Message ?? '',
        error: t.Status?.Err ?? '',
        exitCode: t.Status?.ContainerStatus?.ExitCode,
        containerId: t.Status?.ContainerStatus?.ContainerID ?? '',
        updatedAt: t.Status?.Timestamp ?? t.UpdatedAt ?? '',
      }));
    } catch (error) {
      throw mapSwarmError(error, 'list tasks');
    }
  }

  async taskLogs(taskId: string, options: { limitBytes: number; timeoutMs?: number }): Promise<TaskLogs> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), options.timeoutMs ?? 30_000);
    try {
      // Asked for as a stream (dockerode would buffer it and try it as JSON): multiplexed frames.
      const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
        this.#docker.modem.dial(
          {
            path: `/tasks/${taskId}/logs?`,
            method: 'GET',
            isStream: true,
            abortSignal: abort.signal,
            options: { stdout: true, stderr: true, follow: false },
            statusCodes: { 200: true, 404: 'no such task', 500: 'server error', 503: 'node is not part of a swarm' },
          } as unknown as Parameters<Docker['modem']['dial']>[0],
          (error: unknown, data: unknown) => (error ? reject(error) : resolve(data as NodeJS.ReadableStream)),
        );
      });
      const stdout = new TailBuffer(options.limitBytes);
      const stderr = new TailBuffer(options.limitBytes);
      await new Promise<void>((resolve, reject) => {
        let pending: Buffer = Buffer.alloc(0);
        stream.on('data', (chunk: Buffer) => {
          pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
          while (pending.length >= 8) {
            const size = pending.readUInt32BE(4);
            if (pending.length < 8 + size) break;
            (pending[0] === 1 ? stdout : stderr).append(pending.subarray(8, 8 + size));
            pending = pending.subarray(8 + size);
          }
        });
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
      return { stdout: stdout.text(), stderr: stderr.text(), truncated: stdout.truncated || stderr.truncated };
    } catch (error) {
      if (abort.signal.aborted)
        throw new DtoolError('TIMEOUT', `logs of task ${taskId.slice(0, 12)}: no answer within ${options.timeoutMs ?? 30_000} ms`);
      throw mapSwarmError(error, `logs of task ${taskId.slice(0, 12)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async createSecret(options: { name: string; data: string; labels: Readonly<Record<string, string>> }): Promise<string> {
    try {
      const secret = (await this.#docker.createSecret({
        Name: options.name,
        Labels: { ...options.labels },
        Data: Buffer.from(options.data, 'utf8').toString('base64'),
      })) as { id?: string; ID?: string };
      return secret.id ?? secret.ID ?? '';
    } catch (error) {
      throw mapSwarmError(error, `create secret ${options.name}`);
    }
  }

  async listSecrets(filter: { labels?: readonly string[] }): Promise<SecretSummary[]> {
    try {
      const secrets = (await this.#docker.listSecrets({ filters: JSON.stringify({ label: filter.labels ?? [] }) })) as EngineSecret[];
      return secrets.map((s) => ({ id: s.ID, name: s.Spec?.Name ?? s.ID, labels: s.Spec?.Labels ?? {} }));
    } catch (error) {
      throw mapSwarmError(error, 'list secrets');
    }
  }

  async removeSecret(id: string): Promise<void> {
    try {
      await this.#docker.getSecret(id).remove();
    } catch (error) {
      if (isNotFound(error)) return;
      throw mapSwarmError(error, `remove secret ${id.slice(0, 12)}`);
    }
  }
}

interface EngineNode {
  readonly ID: string;
  readonly Description?: { readonly Hostname?: string; readonly Platform?: { readonly OS?: string; readonly Architecture?: string } };
  readonly Spec?: { readonly Role?: string; readonly Availability?: string; readonly Labels?: Record<string, string> };
  readonly Status?: { readonly State?: string; readonly Addr?: string };
}

interface EngineService {
  readonly ID: string;
  readonly Spec?: { readonly Name?: string; readonly Labels?: Record<string, string> };
}

interface EngineSecret {
  readonly ID: string;
  readonly Spec?: { readonly Name?: string; readonly Labels?: Record<string, string> };
}

interface EngineTask {
  readonly ID: string;
  readonly NodeID?: string;
  readonly DesiredState?: string;
  readonly UpdatedAt?: string;
  readonly Status?: {
    readonly State?: string;
    readonly Message?: string;
    readonly Err?: string;
    readonly Timestamp?: string;
    readonly ContainerStatus?: { readonly ContainerID?: string; readonly ExitCode?: number };
  };
}

/**
 * Swarm calls on an engine that is no manager answer 503 ("This node is not a swarm
 * manager", or "… is not part of a swarm"): a usage error, with the way out as its hint.
 */
function mapSwarmError(error: unknown, what: string): DtoolError {
  const engineError = error as EngineError;
  if (engineError.statusCode === 503 && /not a swarm manager|not part of a swarm/i.test(engineMessage(engineError))) {
    const inSwarm = /not a swarm manager/i.test(engineMessage(engineError));
    return new NotSwarmManagerError(
      inSwarm ? `${what}: this Docker engine is a swarm worker, not a manager` : `${what}: this Docker engine is not part of a swarm`,
      { cause: error },
    );
  }
  return mapError(error, what);
}

const EXEC_OUTPUT_LIMIT = 64 * 1024;

/** The engine gives a string where a one-element list was meant, in old images' configs. */
function asList(value: string | string[] | null | undefined): string[] | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? [value] : value;
}

/** Multiplexed frames (8-byte header: stream, 0, 0, 0, size) to their text, in order. */
function demuxToText(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Calls `onMessage` for each JSON line of an engine message stream; a throw from it rejects. */
function followJsonMessages(stream: NodeJS.ReadableStream, onMessage: (message: BuildMessage) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = '';
    const take = (line: string) => {
      try {
        if (line.trim()) onMessage(JSON.parse(line) as BuildMessage);
      } catch (error) {
        reject(error);
      }
    };
    stream.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
        take(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    });
    stream.on('error', (error) => reject(mapError(error, 'engine stream')));
    stream.on('end', () => {
      take(pending);
      resolve();
    });
  });
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
