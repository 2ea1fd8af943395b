/**
 * A scripted, in-memory DockerPort for unit tests: no engine, every call recorded in order.
 * Helper runs are scripted per created container (output frames, exit code, failures);
 * a container scripted to `hang` only stops when killed, like a real one that ignores time.
 */
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { DEFAULT_CONFIG, type DtoolConfig } from '../../src/config.js';
import type { Deps } from '../../src/deps.js';
import type { Attachment, ContainerCreateOptions, ContainerDetails, DockerPort, WaitCondition } from '../../src/docker/port.js';
import type { OwnerIdentity, ProcessTable } from '../../src/host/owner.js';
import type { Reporter, RunEvent } from '../../src/events.js';
import type { ImageCatalog } from '../../src/run/build-image.js';

/** One engine frame (Tty: false): type byte, three zero bytes, big-endian length, payload. */
export function frame(stream: 'stdout' | 'stderr', text: string | Buffer): Buffer {
  const payload = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const header = Buffer.alloc(8);
  header[0] = stream === 'stdout' ? 1 : 2;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export interface ScriptedRun {
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exitCode?: number;
  /** Keep running (no output end, no exit) until killContainer is called. */
  readonly hang?: boolean;
  readonly failAttach?: Error;
  readonly failStart?: Error;
  /**
   * What the helper does to its mounts before it prints and exits, e.g. write a dump into a
   * bind-mounted folder. Runs during startContainer, while the secret files still exist.
   */
  readonly onStart?: (options: ContainerCreateOptions) => void | Promise<void>;
}

export interface RecordedCall {
  readonly method: keyof DockerPort;
  readonly args: readonly unknown[];
}

export class FakeDocker implements DockerPort {
  readonly calls: RecordedCall[] = [];
  readonly created: ContainerCreateOptions[] = [];
  /** For each created container: did each secret's host file exist when it was created? */
  readonly secretFilesAtCreate: Record<string, boolean>[] = [];
  readonly removed: string[] = [];
  /** Attach connections closed by the caller, by container id. */
  readonly detached: string[] = [];
  readonly containers = new Map<string, ContainerDetails>();
  labelled: { name: string; labels: Record<string, string> }[] = [];
  #runs: ScriptedRun[] = [];
  #live = new Map<
    string,
    { run: ScriptedRun; options: ContainerCreateOptions; stream: PassThrough; exit: (code: number) => void; exited: Promise<number> }
  >();
  #next = 0;

  /** Scripts the next created containers, one run each, in order; unscripted runs exit 0 silently. */
  script(...runs: ScriptedRun[]): this {
    this.#runs.push(...runs);
    return this;
  }

  methods(): (keyof DockerPort)[] {
    return this.calls.map((c) => c.method);
  }

  #record(method: keyof DockerPort, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  async ping(): Promise<void> {
    this.#record('ping');
  }
  async version(): Promise<never> {
    this.#record('version');
    throw new Error('FakeDocker.version is not scripted');
  }
  async info(): Promise<never> {
    this.#record('info');
    throw new Error('FakeDocker.info is not scripted');
  }
  async inspectImage(reference: string): Promise<undefined> {
    this.#record('inspectImage', reference);
    return undefined;
  }
  async tagImage(...args: unknown[]): Promise<void> {
    this.#record('tagImage', ...args);
  }
  async buildImage(): Promise<never> {
    this.#record('buildImage');
    throw new Error('FakeDocker.buildImage is not scripted');
  }
  // Recipes and swaps are tested on the real engine (test/integration/recipes).
  async listImages(): Promise<never> {
    return this.#unscripted('listImages');
  }
  async removeImage(): Promise<never> {
    return this.#unscripted('removeImage');
  }
  async saveImage(): Promise<never> {
    return this.#unscripted('saveImage');
  }
  async loadImage(): Promise<never> {
    return this.#unscripted('loadImage');
  }
  async commitContainer(): Promise<never> {
    return this.#unscripted('commitContainer');
  }
  async inspectDefinition(): Promise<never> {
    return this.#unscripted('inspectDefinition');
  }
  async stopContainer(): Promise<never> {
    return this.#unscripted('stopContainer');
  }
  async renameContainer(): Promise<never> {
    return this.#unscripted('renameContainer');
  }
  async updateRestartPolicy(): Promise<never> {
    return this.#unscripted('updateRestartPolicy');
  }
  async connectNetwork(): Promise<never> {
    return this.#unscripted('connectNetwork');
  }
  async putArchive(): Promise<never> {
    return this.#unscripted('putArchive');
  }
  async getArchive(): Promise<never> {
    return this.#unscripted('getArchive');
  }
  async execStream(): Promise<never> {
    return this.#unscripted('execStream');
  }
  async execInContainer(): Promise<never> {
    return this.#unscripted('execInContainer');
  }
  #unscripted(method: keyof DockerPort): never {
    this.#record(method);
    throw new Error(`FakeDocker.${method} is not scripted`);
  }
  async inspectContainer(nameOrId: string): Promise<ContainerDetails | undefined> {
    this.#record('inspectContainer', nameOrId);
    return this.containers.get(nameOrId);
  }
  async listContainers(filter: { readonly labels?: readonly string[]; readonly all?: boolean }) {
    this.#record('listContainers', filter);
    return this.labelled
      .filter((c) =>
        (filter.labels ?? []).every((l) => {
          const [key, value] = l.split('=');
          return key! in c.labels && (value === undefined || c.labels[key!] === value);
        }),
      )
      .map((c) => ({ id: c.name, name: c.name, state: 'running', labels: c.labels, imageId: 'sha256:fake', addresses: {} }));
  }

  async createContainer(options: ContainerCreateOptions): Promise<string> {
    this.#record('createContainer', options);
    this.created.push(options);
    const atCreate: Record<string, boolean> = {};
    for (const m of options.HostConfig.Mounts ?? []) {
      if (m.Target.startsWith('/run/secrets/') && m.Source) atCreate[m.Source] = existsSync(m.Source);
    }
    this.secretFilesAtCreate.push(atCreate);
    const id = `container-${++this.#next}`;
    const run = this.#runs.shift() ?? {};
    let exit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (exit = resolve));
    this.#live.set(id, { run, options, stream: new PassThrough(), exit, exited });
    return id;
  }

  async attachContainer(id: string, options?: { readonly stdin?: boolean }): Promise<Attachment> {
    this.#record('attachContainer', id, options);
    const live = this.#live.get(id)!;
    if (live.run.failAttach) throw live.run.failAttach;
    return { output: live.stream, close: () => void this.detached.push(id) };
  }

  async startContainer(id: string): Promise<void> {
    this.#record('startContainer', id);
    const live = this.#live.get(id)!;
    if (live.run.failStart) throw live.run.failStart;
    await live.run.onStart?.(live.options);
    if (live.run.hang) return;
    setImmediate(() => {
      if (live.run.stdout) live.stream.write(frame('stdout', live.run.stdout));
      if (live.run.stderr) live.stream.write(frame('stderr', live.run.stderr));
      live.stream.end();
      live.exit(live.run.exitCode ?? 0);
    });
  }

  async waitContainer(id: string, condition?: WaitCondition): Promise<number> {
    this.#record('waitContainer', id, condition);
    return this.#live.get(id)!.exited;
  }

  async killContainer(id: string, signal?: string): Promise<void> {
    this.#record('killContainer', id, signal);
    const live = this.#live.get(id);
    if (!live) throw new Error(`no such container ${id}`);
    if (!live.stream.writableEnded) live.stream.end();
    live.exit(signal === 'SIGKILL' ? 137 : 143);
  }

  async removeContainer(id: string): Promise<void> {
    this.#record('removeContainer', id);
    this.removed.push(id);
    this.#live.delete(id);
  }

  async watchContainerEvents(_onEvent: unknown, signal: AbortSignal): Promise<void> {
    this.#record('watchContainerEvents');
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  async listVolumes() {
    this.#record('listVolumes');
    return [];
  }
  async removeVolume(...args: unknown[]): Promise<void> {
    this.#record('removeVolume', ...args);
  }
}

/** A running container's details, on the default bridge unless told otherwise. */
export function runningContainer(name: string, overrides: Partial<ContainerDetails> = {}): ContainerDetails {
  return {
    id: `${name}-id`,
    name,
    image: 'mariadb:11',
    running: true,
    status: 'running',
    labels: {},
    networkMode: 'bridge',
    networks: [{ name: 'bridge', ipAddress: '172.17.0.5' }],
    exitCode: 0,
    mounts: [],
    ...overrides,
  };
}

export interface FakeDeps extends Deps {
  readonly docker: FakeDocker;
  readonly events: RunEvent[];
  /** Image names passed to images.ensure, in order. */
  readonly ensuredImages: string[];
}

/** The owner every fake helper records: this test process, as if on host `test-host`. */
export const TEST_OWNER: OwnerIdentity = { host: 'test-host', bootId: 'boot-1', pid: 4242, startTicks: '1000' };

/** A process table where only the processes listed (pid → start ticks) exist. */
export function fakeProcessTable(
  running: Readonly<Record<number, string>> = { [TEST_OWNER.pid]: TEST_OWNER.startTicks },
  bootId = TEST_OWNER.bootId,
): ProcessTable {
  return { bootId: () => bootId, startTicks: (pid) => running[pid] };
}

/** Deps around a FakeDocker: images "exist" as `dtool/<name>:test`, the clock is fixed, events are kept. */
export function fakeDeps(options: { docker?: FakeDocker; config?: Partial<DtoolConfig>; signal?: AbortSignal; now?: Date } = {}): FakeDeps {
  const docker = options.docker ?? new FakeDocker();
  const events: RunEvent[] = [];
  const ensuredImages: string[] = [];
  const reporter: Reporter = (event) => events.push(event);
  const images = {
    ensure: async (name: string) => {
      ensuredImages.push(name);
      return { name, reference: `dtool/${name}:test`, hash: 'test', cached: true };
    },
  } as unknown as ImageCatalog;
  const now = options.now ?? new Date('2026-11-22T15:30:00Z');
  return {
    docker,
    config: { ...DEFAULT_CONFIG, ...options.config },
    images,
    reporter,
    clock: { now: () => now },
    owner: TEST_OWNER,
    processes: fakeProcessTable(),
    events,
    ensuredImages,
    ...(options.signal ? { signal: options.signal } : {}),
  };
}
