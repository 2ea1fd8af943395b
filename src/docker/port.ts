/**
 * The narrow interface the library sees of a Docker engine. Only dockerode-adapter.ts
 * implements it against a real engine; tests may implement it with a fake.
 * Shapes follow the Engine API's JSON (PascalCase), restricted to what dtool uses.
 */
import type { Readable } from 'node:stream';

export interface MountSpec {
  readonly Type: 'bind' | 'volume' | 'tmpfs';
  readonly Target: string;
  readonly Source?: string;
  readonly ReadOnly?: boolean;
  readonly TmpfsOptions?: { readonly SizeBytes?: number; readonly Mode?: number };
  readonly VolumeOptions?: { readonly Labels?: Readonly<Record<string, string>> };
}

/** `PORT/PROTO` → host bindings, as in the Engine API. */
export type PortBindings = Readonly<Record<string, readonly { readonly HostIp?: string; readonly HostPort: string }[]>>;

export interface RestartPolicy {
  readonly Name: string;
  readonly MaximumRetryCount?: number;
}

export interface ContainerCreateOptions {
  readonly name?: string;
  readonly Image: string;
  readonly Hostname?: string;
  readonly Domainname?: string;
  readonly ExposedPorts?: Readonly<Record<string, Record<string, never>>>;
  /** The network named in HostConfig.NetworkMode, with the container's aliases there. */
  readonly NetworkingConfig?: { readonly EndpointsConfig: Readonly<Record<string, { readonly Aliases?: readonly string[] }>> };
  readonly Cmd?: readonly string[];
  readonly Entrypoint?: readonly string[];
  readonly User?: string;
  readonly Env?: readonly string[];
  readonly WorkingDir?: string;
  readonly Labels: Readonly<Record<string, string>>;
  readonly AttachStdin?: boolean;
  readonly AttachStdout: boolean;
  readonly AttachStderr: boolean;
  readonly Tty: false;
  readonly OpenStdin: boolean;
  /** Close the container's stdin when the attached client disconnects. */
  readonly StdinOnce?: boolean;
  readonly HostConfig: {
    readonly Mounts?: readonly MountSpec[];
    readonly VolumesFrom?: readonly string[];
    readonly Tmpfs?: Readonly<Record<string, string>>;
    readonly NetworkMode?: string;
    readonly Links?: readonly string[];
    readonly CapDrop?: readonly string[];
    readonly CapAdd?: readonly string[];
    readonly SecurityOpt?: readonly string[];
    readonly ReadonlyRootfs?: boolean;
    readonly Privileged?: boolean;
    readonly MaskedPaths?: readonly string[];
    readonly ReadonlyPaths?: readonly string[];
    readonly DeviceCgroupRules?: readonly string[];
    readonly Init?: boolean;
    readonly PidMode?: string;
    readonly AutoRemove?: boolean;
    readonly PortBindings?: PortBindings;
    readonly RestartPolicy?: RestartPolicy;
  };
}

export interface EngineVersion {
  readonly serverVersion: string;
  readonly apiVersion: string;
  readonly os: string;
  readonly arch: string;
}

export interface EngineInfo {
  readonly storageDriver: string;
  readonly cgroupVersion: string;
  readonly securityOptions: readonly string[];
  /** The engine's ID and its host's name (`docker info`), which tell engines apart. */
  readonly id?: string;
  readonly name?: string;
  /** This engine's place in a swarm (absent from fakes that do not script one). */
  readonly swarm?: SwarmState;
}

/** `docker info`'s Swarm part. */
export interface SwarmState {
  /** Empty when the engine is in no swarm. */
  readonly nodeId: string;
  /** inactive, pending, active, error or locked. */
  readonly localState: string;
  /** Only a manager can create services and list nodes. */
  readonly isManager: boolean;
}

/** A swarm node, as `docker node ls` / `docker node inspect` show it. */
export interface SwarmNode {
  readonly id: string;
  readonly hostname: string;
  readonly role: 'manager' | 'worker';
  /** active, pause or drain: only an active node is given new tasks. */
  readonly availability: string;
  /** ready, down, unknown or disconnected. */
  readonly state: string;
  /** The node's Spec labels (`docker node update --label-add`). */
  readonly labels: Readonly<Record<string, string>>;
  readonly address: string;
  readonly os: string;
  readonly arch: string;
}

/** A mount of a service's containers (the same shape as a container's). */
export type ServiceMount = MountSpec;

/** The subset of the Engine API's ServiceSpec dtool writes (API 1.41). */
export interface ServiceCreateOptions {
  readonly Name: string;
  readonly Labels: Readonly<Record<string, string>>;
  readonly TaskTemplate: {
    readonly ContainerSpec: {
      readonly Image: string;
      /** Replaces the image's entrypoint. */
      readonly Command?: readonly string[];
      readonly Args?: readonly string[];
      readonly Hostname?: string;
      readonly User?: string;
      readonly Env?: readonly string[];
      readonly Labels: Readonly<Record<string, string>>;
      readonly Mounts?: readonly ServiceMount[];
      readonly ReadOnly?: boolean;
      readonly CapabilityAdd?: readonly string[];
      readonly CapabilityDrop?: readonly string[];
      readonly Init?: boolean;
      readonly Secrets?: readonly {
        readonly SecretID: string;
        readonly SecretName: string;
        readonly File: { readonly Name: string; readonly UID: string; readonly GID: string; readonly Mode: number };
      }[];
    };
    readonly RestartPolicy: {
      readonly Condition: 'none' | 'on-failure' | 'any';
      readonly MaxAttempts?: number /** Nanoseconds. */;
      readonly Delay?: number;
    };
    readonly Placement?: { readonly Constraints?: readonly string[] };
    readonly Networks?: readonly { readonly Target: string }[];
  };
  readonly Mode:
    | { readonly GlobalJob: Record<string, never> }
    | { readonly ReplicatedJob: { readonly MaxConcurrent: number; readonly TotalCompletions: number } };
}

export interface ServiceSummary {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** One task of a service: on a swarm job, one run on one node. */
export interface SwarmTask {
  readonly id: string;
  /** Empty until the task is assigned to a node. */
  readonly nodeId: string;
  readonly desiredState: string;
  /** new, pending, assigned, …, running, complete, failed, rejected, shutdown, orphaned, remove. */
  readonly state: string;
  readonly message: string;
  /** Why the task failed or was rejected, in the engine's words. */
  readonly error: string;
  readonly exitCode: number | undefined;
  readonly containerId: string;
  /** ISO time of the task's last state change. */
  readonly updatedAt: string;
}

/** A task's output, demultiplexed, each stream capped. */
export interface TaskLogs {
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
}

export interface SecretSummary {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ImageDetails {
  readonly id: string;
  readonly tags: readonly string[];
  readonly sizeBytes: number;
  readonly labels: Readonly<Record<string, string>>;
  /** The image's defaults, which a container inherits unless it sets its own. */
  readonly env: readonly string[];
  readonly cmd: readonly string[] | undefined;
  readonly entrypoint: readonly string[] | undefined;
  /** ISO time of creation. */
  readonly created: string;
}

export interface ImageSummary {
  readonly id: string;
  readonly tags: readonly string[];
  /** Seconds since the epoch. */
  readonly created: number;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ContainerNetwork {
  readonly name: string;
  readonly ipAddress: string;
}

export interface ContainerDetails {
  readonly id: string;
  /** Without Docker's leading slash. */
  readonly name: string;
  readonly image: string;
  readonly running: boolean;
  readonly status: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly networkMode: string;
  readonly networks: readonly ContainerNetwork[];
  readonly exitCode: number;
  /** Bind and volume mounts, as `docker inspect` shows them. */
  readonly mounts: readonly { readonly type: string; readonly source: string; readonly destination: string }[];
}

export interface ContainerSummary {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly imageId: string;
  /** The container's address on each network it is attached to. */
  readonly addresses: Readonly<Record<string, string>>;
}

/**
 * What it takes to create a container again, from a new image: its own settings, not
 * the image's defaults (`env`, `cmd`, `entrypoint` and `labels` are as the container has
 * them; the caller drops what it inherited). `hostConfig` is the engine's, passed back as is.
 */
export interface ContainerDefinition {
  readonly id: string;
  readonly name: string;
  /** The image reference it was created from, and the ID that reference had then. */
  readonly image: string;
  readonly imageId: string;
  readonly running: boolean;
  readonly hostname: string;
  readonly domainname: string;
  readonly user: string;
  readonly workingDir: string;
  readonly env: readonly string[];
  readonly cmd: readonly string[] | undefined;
  readonly entrypoint: readonly string[] | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly exposedPorts: readonly string[];
  readonly attachStdin: boolean;
  readonly openStdin: boolean;
  readonly hostConfig: Readonly<Record<string, unknown>> & { readonly NetworkMode?: string; readonly PortBindings?: PortBindings | null };
  readonly networks: readonly { readonly name: string; readonly aliases: readonly string[]; readonly ipAddress: string }[];
}

/** A command running in a container, its output streaming (demultiplexed). */
export interface ExecSession {
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The exit code, once the command ended and both outputs ended. */
  readonly exitCode: Promise<number>;
}

export interface ExecResult {
  readonly exitCode: number;
  /** stdout and stderr, interleaved, capped. */
  readonly output: string;
}

export interface VolumeSummary {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface BuildImageOptions {
  readonly tags: readonly string[];
  /** The Dockerfile's path inside the context (default `Dockerfile`). */
  readonly dockerfile?: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  /** One call per line of build output (the `stream` field of the engine's JSON messages). */
  readonly onOutput?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** A multiplexed (Tty: false) output stream of a container, before demultiplexing. */
export type MultiplexedStream = NodeJS.ReadableStream;

/**
 * An attach connection to a container: its multiplexed output and, when the container has
 * an open stdin, that stdin, held open until `close()`. With StdinOnce the engine closes the
 * container's stdin when this connection drops, including when the dtool process dies.
 */
export interface Attachment {
  readonly output: MultiplexedStream;
  close(): void;
}

/** `not-running`: returns at once if stopped; `removed`: after an AutoRemove container is gone (call it before start). */
export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** A container lifecycle event from the engine's event stream. */
export interface ContainerEvent {
  readonly action: string;
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface DockerPort {
  ping(): Promise<void>;
  version(): Promise<EngineVersion>;
  info(): Promise<EngineInfo>;

  inspectImage(reference: string): Promise<ImageDetails | undefined>;
  tagImage(imageId: string, repository: string, tag: string): Promise<void>;
  /** Images whose reference matches `reference` (e.g. `repo` or `repo:*`), or carrying `labels`. */
  listImages(filter: { readonly reference?: string; readonly labels?: readonly string[] }): Promise<ImageSummary[]>;
  /** Untags `reference` (removing the image with its last tag); never forced. An absent image is not an error. */
  removeImage(reference: string): Promise<void>;
  /** A tar stream of `docker save`. */
  saveImage(reference: string): Promise<Readable>;
  /** Loads a `docker save` tar; resolves with the references (or IDs) it loaded. */
  loadImage(tar: Readable): Promise<string[]>;
  commitContainer(
    id: string,
    target: { readonly repository: string; readonly tag: string; readonly labels?: Readonly<Record<string, string>> },
  ): Promise<string>;
  /** Resolves with the built image's ID; rejects with ImageBuildError when the stream held an errorDetail. */
  buildImage(context: Readable, options: BuildImageOptions): Promise<string>;

  inspectContainer(nameOrId: string): Promise<ContainerDetails | undefined>;
  inspectDefinition(nameOrId: string): Promise<ContainerDefinition | undefined>;
  listContainers(filter: { readonly labels?: readonly string[]; readonly all?: boolean }): Promise<ContainerSummary[]>;
  /** Rejects with a CONFLICT DtoolError when the name is taken: the engine decides between racing creators. */
  createContainer(options: ContainerCreateOptions): Promise<string>;
  /** `stdin`: also hold the container's stdin open (the container must have OpenStdin). */
  attachContainer(id: string, options?: { readonly stdin?: boolean }): Promise<Attachment>;
  startContainer(id: string): Promise<void>;
  /** Resolves with the exit code once the condition is met (default `not-running`). */
  waitContainer(id: string, condition?: WaitCondition): Promise<number>;
  killContainer(id: string, signal?: string): Promise<void>;
  /** SIGTERM (or the image's stop signal), then SIGKILL after `timeoutSeconds`; stopped already is not an error. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  renameContainer(id: string, name: string): Promise<void>;
  updateRestartPolicy(id: string, policy: RestartPolicy): Promise<void>;
  connectNetwork(network: string, id: string, aliases?: readonly string[]): Promise<void>;
  /** Extracts `tar` into `path` in the container (which may be created and not started). */
  putArchive(id: string, path: string, tar: Readable): Promise<void>;
  /** A tar of `path` in the container, whose top entry is the path's last component. */
  getArchive(id: string, path: string): Promise<Readable>;
  /**
   * Starts a command in a running container with its output streaming; `stdin` is piped to
   * the command and closed when it ends (e.g. a tar for `docker load` or `docker build -`).
   */
  execStream(id: string, command: readonly string[], options?: { readonly stdin?: Readable; readonly env?: readonly string[] }): Promise<ExecSession>;
  /** Runs a command in a running container and waits for it. */
  execInContainer(id: string, command: readonly string[], options?: { readonly timeoutMs?: number }): Promise<ExecResult>;
  /** Removes the container and its anonymous volumes; a container already gone is not an error. */
  removeContainer(id: string): Promise<void>;

  /** Calls `onEvent` for each container event until `signal` aborts or the stream ends (then it resolves). */
  watchContainerEvents(onEvent: (event: ContainerEvent) => void, signal: AbortSignal): Promise<void>;

  listVolumes(filter: { readonly labels: readonly string[] }): Promise<VolumeSummary[]>;
  removeVolume(name: string): Promise<void>;

  // Swarm (src/swarm/): a non-manager answers these with NotSwarmManagerError.
  /** Pushes a tagged image to its registry; rejects when the stream held an errorDetail. */
  pushImage(reference: string): Promise<void>;
  listNodes(): Promise<SwarmNode[]>;
  /** Resolves with the new service's ID. */
  createService(options: ServiceCreateOptions): Promise<string>;
  listServices(filter: { readonly labels?: readonly string[] }): Promise<ServiceSummary[]>;
  /** A service already gone is not an error. */
  removeService(id: string): Promise<void>;
  listTasks(filter: { readonly serviceId: string }): Promise<SwarmTask[]>;
  /** The task's output so far, each stream capped at `limitBytes`. */
  taskLogs(taskId: string, options: { readonly limitBytes: number; readonly timeoutMs?: number }): Promise<TaskLogs>;
  /** Resolves with the new secret's ID. */
  createSecret(options: { readonly name: string; readonly data: string; readonly labels: Readonly<Record<string, string>> }): Promise<string>;
  listSecrets(filter: { readonly labels?: readonly string[] }): Promise<SecretSummary[]>;
  /** A secret already gone is not an error. */
  removeSecret(id: string): Promise<void>;
}
