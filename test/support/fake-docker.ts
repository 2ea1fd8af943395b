/**
 * A scripted, in-memory DockerPort for unit tests: no engine, every call recorded in order.
 * Helper runs are scripted per created container (output frames, exit code, failures);
 * a container scripted to `hang` only stops when killed, like a real one that ignores time.
 */
import { PassThrough, type Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { DEFAULT_CONFIG, type DtoolConfig } from '../../src/config.js';
import type { Deps } from '../../src/deps.js';
import type {
  Attachment,
  ContainerCreateOptions,
  ContainerDetails,
  DockerPort,
  ExecSession,
  ImageDetails,
  SecretSummary,
  ServiceCreateOptions,
  ServiceSummary,
  SwarmNode,
  SwarmState,
  SwarmTask,
  TaskLogs,
  WaitCondition,
} from '../../src/docker/port.js';
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
   * bind-mounted folder. Runs once the container started and, if it has any, got its secrets
   * (handed in as `secrets`, by name), as dtool-guard makes the real command wait for them.
   */
  readonly onStart?: (options: ContainerCreateOptions, secrets: Readonly<Record<string, string>>) => void | Promise<void>;
}

/** What an exec answers: its stdout, stderr and exit code. */
export interface ExecReply {
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exitCode?: number;
}

/** Answers an exec other than the secrets' delivery; `stdin` is what the caller pipes in, if anything. */
export type ExecHandler = (
  id: string,
  command: readonly string[],
  stdin: Readable | undefined,
  options: ContainerCreateOptions,
) => ExecReply | Promise<ExecReply>;

export async function readAll(stream: Readable | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

async function untar(tar: Buffer): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const extraction = extract();
  const done = new Promise<void>((resolve, reject) => {
    extraction.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        files[header.name] = Buffer.concat(chunks).toString('utf8');
        next();
      });
    });
    extraction.on('finish', resolve);
    extraction.on('error', reject);
  });
  extraction.end(tar);
  await done;
  return files;
}

export interface RecordedCall {
  readonly method: keyof DockerPort;
  readonly args: readonly unknown[];
}

export class FakeDocker implements DockerPort {
  readonly calls: RecordedCall[] = [];
  readonly created: ContainerCreateOptions[] = [];
  /** Secrets handed to containers through exec (dtool-guard --receive-secrets), in order. */
  readonly delivered: { readonly id: string; readonly secrets: Record<string, string> }[] = [];
  /** Answers every other exec; unset, an exec fails. */
  onExec: ExecHandler | undefined;
  readonly removed: string[] = [];
  /** Attach connections closed by the caller, by container id. */
  readonly detached: string[] = [];
  readonly containers = new Map<string, ContainerDetails>();
  labelled: { name: string; labels: Record<string, string> }[] = [];
  /** Images this engine has, by reference (inspectImage, saveImage). */
  readonly images = new Map<string, ImageDetails>();
  /** What a loadImage call adds to `images`; or the error it fails with. */
  loads: Map<string, ImageDetails> | undefined;
  loadFailure: Error | undefined;

  // Swarm: this engine's place in it, its nodes, and the tasks each created service shows.
  swarm: SwarmState | undefined;
  nodes: SwarmNode[] = [];
  readonly services = new Map<string, ServiceCreateOptions>();
  readonly removedServices: string[] = [];
  readonly secrets = new Map<string, { name: string; data: string; labels: Readonly<Record<string, string>> }>();
  readonly removedSecrets: string[] = [];
  readonly pushed: string[] = [];
  /** Services and secrets there before the test (e.g. left by a dead run), by ID. */
  readonly existingServices: ServiceSummary[] = [];
  readonly existingSecrets: SecretSummary[] = [];
  /** The tasks listTasks shows for a service, asked anew on each poll (counted from 1). */
  tasksFor: (service: ServiceCreateOptions, poll: number) => SwarmTask[] = () => [];
  /** Called on each listNodes: lets a test take a node down mid-run. */
  onListNodes: ((nodes: SwarmNode[]) => SwarmNode[]) | undefined;
  /** Task output, by task ID. */
  readonly taskOutput = new Map<string, TaskLogs>();
  #polls = new Map<string, number>();
  #runs: ScriptedRun[] = [];
  #live = new Map<
    string,
    {
      run: ScriptedRun;
      options: ContainerCreateOptions;
      stream: PassThrough;
      exit: (code: number) => void;
      exited: Promise<number>;
      secrets: Promise<Record<string, string>>;
      receive: (secrets: Record<string, string>) => void;
    }
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
  async info() {
    this.#record('info');
    if (!this.swarm) throw new Error('FakeDocker.info is not scripted');
    return { storageDriver: 'overlay2', cgroupVersion: '2', securityOptions: [], swarm: this.swarm };
  }
  async inspectImage(reference: string): Promise<ImageDetails | undefined> {
    this.#record('inspectImage', reference);
    return this.images.get(reference);
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
  async saveImage(reference: string): Promise<PassThrough> {
    if (!this.images.has(reference)) return this.#unscripted('saveImage');
    this.#record('saveImage', reference);
    const tar = new PassThrough();
    tar.end(`tar of ${reference}`);
    return tar;
  }
  async loadImage(): Promise<string[]> {
    if (!this.loads && !this.loadFailure) return this.#unscripted('loadImage');
    this.#record('loadImage');
    if (this.loadFailure) throw this.loadFailure;
    for (const [reference, image] of this.loads!) this.images.set(reference, image);
    return [...this.loads!.keys()];
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
  async execStream(id: string, command: readonly string[], options: { readonly stdin?: Readable } = {}): Promise<ExecSession> {
    this.#record('execStream', id, command);
    const live = this.#live.get(id);
    if (!live) throw new Error(`no such container ${id}`);
    let reply: ExecReply;
    if (command.join(' ') === 'dtool-guard --receive-secrets') {
      const secrets = await untar(await readAll(options.stdin));
      this.delivered.push({ id, secrets });
      live.receive(secrets);
      reply = {};
    } else if (this.onExec) {
      reply = await this.onExec(id, command, options.stdin, live.options);
    } else {
      throw new Error(`FakeDocker.execStream is not scripted: ${command.join(' ')}`);
    }
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.end(reply.stdout ?? '');
    stderr.end(reply.stderr ?? '');
    return { stdout, stderr, exitCode: Promise.resolve(reply.exitCode ?? 0) };
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
    const live = this.#live.get(nameOrId);
    // A helper this fake runs: running, on no network of its own.
    if (!this.containers.has(nameOrId) && live) return runningContainer(nameOrId, { id: nameOrId, image: live.options.Image, networks: [] });
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
    const id = `container-${++this.#next}`;
    const run = this.#runs.shift() ?? {};
    let exit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (exit = resolve));
    let receive!: (secrets: Record<string, string>) => void;
    const secrets = new Promise<Record<string, string>>((resolve) => (receive = resolve));
    // Without secrets to wait for, the command starts at once (as dtool-guard does).
    if (!(options.Env ?? []).some((e) => e.startsWith('DTOOL_SECRETS='))) receive({});
    this.#live.set(id, { run, options, stream: new PassThrough(), exit, exited, secrets, receive });
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
    // The command runs once its secrets are in (dtool-guard waits for them), after start returned.
    void live.secrets.then(async (secrets) => {
      await live.run.onStart?.(live.options, secrets);
      if (!this.#live.has(id)) return;
      setImmediate(() => {
        if (live.run.stdout) live.stream.write(frame('stdout', live.run.stdout));
        if (live.run.stderr) live.stream.write(frame('stderr', live.run.stderr));
        // A hanging helper (a service) prints, then runs on until killed or removed.
        if (live.run.hang) return;
        live.stream.end();
        live.exit(live.run.exitCode ?? 0);
      });
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
    const live = this.#live.get(id);
    if (live && !live.stream.writableEnded) live.stream.end();
    live?.exit(137);
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

  async pushImage(reference: string): Promise<void> {
    this.#record('pushImage', reference);
    this.pushed.push(reference);
  }
  async listNodes(): Promise<SwarmNode[]> {
    this.#record('listNodes');
    if (this.onListNodes) this.nodes = this.onListNodes(this.nodes);
    return this.nodes;
  }
  async createService(options: ServiceCreateOptions): Promise<string> {
    this.#record('createService', options);
    const id = `service-${++this.#next}`;
    this.services.set(id, options);
    return id;
  }
  async listServices(filter: { readonly labels?: readonly string[] }): Promise<ServiceSummary[]> {
    this.#record('listServices', filter);
    const live = [...this.services].map(([id, s]) => ({ id, name: s.Name, labels: s.Labels }));
    return [...this.existingServices, ...live].filter((s) => !this.removedServices.includes(s.id) && hasLabels(s.labels, filter.labels));
  }
  async removeService(id: string): Promise<void> {
    this.#record('removeService', id);
    this.removedServices.push(id);
  }
  async listTasks(filter: { readonly serviceId: string }): Promise<SwarmTask[]> {
    this.#record('listTasks', filter);
    const service = this.services.get(filter.serviceId);
    if (!service) return [];
    const poll = (this.#polls.get(filter.serviceId) ?? 0) + 1;
    this.#polls.set(filter.serviceId, poll);
    return this.tasksFor(service, poll);
  }
  async taskLogs(taskId: string): Promise<TaskLogs> {
    this.#record('taskLogs', taskId);
    return this.taskOutput.get(taskId) ?? { stdout: '', stderr: '', truncated: false };
  }
  async createSecret(options: { readonly name: string; readonly data: string; readonly labels: Readonly<Record<string, string>> }): Promise<string> {
    this.#record('createSecret', options.name);
    const id = `secret-${++this.#next}`;
    this.secrets.set(id, options);
    return id;
  }
  async listSecrets(filter: { readonly labels?: readonly string[] }): Promise<SecretSummary[]> {
    this.#record('listSecrets', filter);
    const live = [...this.secrets].map(([id, s]) => ({ id, name: s.name, labels: s.labels }));
    return [...this.existingSecrets, ...live].filter((s) => !this.removedSecrets.includes(s.id) && hasLabels(s.labels, filter.labels));
  }
  async removeSecret(id: string): Promise<void> {
    this.#record('removeSecret', id);
    this.removedSecrets.push(id);
  }
  async removeVolume(...args: unknown[]): Promise<void> {
    this.#record('removeVolume', ...args);
  }
}

function hasLabels(labels: Readonly<Record<string, string>>, wanted: readonly string[] = []): boolean {
  return wanted.every((l) => {
    const [key, value] = l.split('=');
    return key! in labels && (value === undefined || labels[key!] === value);
  });
}

/** A ready, active swarm node; `dtool.engine` names its engine as `unix:///run/<hostname>.sock`. */
export function swarmNode(hostname: string, overrides: Partial<SwarmNode> = {}): SwarmNode {
  return {
    id: `id-${hostname}`,
    hostname,
    role: 'worker',
    availability: 'active',
    state: 'ready',
    labels: { 'dtool.engine': `unix:///run/${hostname}.sock` },
    address: '10.0.0.1',
    os: 'linux',
    arch: 'x86_64',
    ...overrides,
  };
}

/** A swarm task on a node, complete with exit code 0 unless told otherwise. */
export function swarmTask(nodeId: string, overrides: Partial<SwarmTask> = {}): SwarmTask {
  return {
    id: `task-${nodeId}`,
    nodeId,
    desiredState: 'complete',
    state: 'complete',
    message: 'finished',
    error: '',
    exitCode: 0,
    containerId: `container-on-${nodeId}`,
    updatedAt: '2026-11-22T15:30:01Z',
    ...overrides,
  };
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
