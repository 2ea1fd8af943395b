/**
 * A recipe is plain data: a multi-step flow (build → run → validate → rebuild → swap)
 * declared in YAML and checked by pure functions before anything runs. The executor is one
 * loop over `steps`; each step kind is a small function.
 *
 * Strings may hold `${{ NAME }}` (a recipe variable) and `${{ steps.ID.image }}` (the image
 * an earlier build, commit or load step made). The braces are doubled so that `$VAR` and `${VAR}`
 * stay free for the shell and for Dockerfiles.
 */
import type { Privilege } from '../core/helper-spec.js';
import type { SwarmSettings } from '../swarm/options.js';

export interface RecipeVariable {
  readonly name: string;
  readonly description?: string;
  /** Absent: the variable is required (`--var NAME=VALUE`). */
  readonly default?: string;
}

/** Where a file handed to a step comes from. */
export type FileSource =
  /** A file or folder on this machine; relative paths are against the recipe's folder. */
  | { readonly kind: 'file'; readonly path: string }
  /** An earlier step's output (`STEP.OUTPUT`), optionally one file inside it. */
  | { readonly kind: 'output'; readonly step: string; readonly output: string; readonly file?: string }
  /**
   * A JSON snapshot of the running containers carrying `label`, with their address on
   * `network`. dtool reads it through the API: the step's container never gets the socket.
   */
  | { readonly kind: 'containers'; readonly label: string; readonly network?: string }
  /** Literal text. */
  | { readonly kind: 'text'; readonly content: string };

/** A file handed to a step: `target` is a path in the container, or in the build context. */
export interface StepInput {
  readonly target: string;
  readonly source: FileSource;
}

export type RecipeMount =
  | { readonly type: 'bind'; readonly source: string; readonly target: string; readonly readOnly: boolean }
  | { readonly type: 'volume'; readonly source: string; readonly target: string; readonly readOnly: boolean };

export interface BuildStep {
  readonly kind: 'build';
  /** A dtool helper image from images/ (built and tagged by content hash by the image catalog). */
  readonly helperImage?: string;
  /** A build context folder (relative to the recipe's folder). */
  readonly context?: string;
  /** Dockerfile path inside the context (default `Dockerfile`). */
  readonly dockerfile?: string;
  /** Dockerfile text given in the recipe itself; the context may then be only `files`. */
  readonly inline?: string;
  /** Repository; the image is tagged `REPOSITORY:<content hash>` (an unchanged input skips the build). */
  readonly repository?: string;
  readonly args: Readonly<Record<string, string>>;
  /** Files added to the build context, e.g. an earlier step's output. */
  readonly files: readonly StepInput[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface RunStep {
  readonly kind: 'run';
  readonly image: string;
  readonly command: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly inputs: readonly StepInput[];
  /** Named outputs: a path in the container, captured through the archive API after it exits. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Named outputs read from a folder on this machine after the run. */
  readonly hostOutputs: Readonly<Record<string, string>>;
  readonly mounts: readonly RecipeMount[];
  /** Legacy links `container:alias` (default bridge). */
  readonly links: readonly string[];
  /** `none`, `bridge`, `host` or a network name; the first is used at create, others connected. */
  readonly networks: readonly string[];
  readonly user?: string;
  readonly privileges: readonly Privilege[];
  readonly writableRoot: boolean;
  readonly timeoutSeconds?: number;
  /** Keep the container running, named `name` (idempotent: an existing one is kept). */
  readonly detach: boolean;
  readonly name?: string;
  /** `{replica}` here and in label values is the container's own name (`NAME-i` with replicas): see template.ts. */
  readonly hostname?: string;
  /** Detached runs: that many containers, named `NAME-1` … `NAME-N`. */
  readonly replicas?: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Detached runs: recreate existing containers (from a new image). */
  readonly replace: boolean;
  /** Run once on every (matching) node of the swarm this engine manages, as a global job. */
  readonly swarm?: SwarmSettings;
}

export interface ValidateStep {
  readonly kind: 'validate';
  readonly image: string;
  readonly command: readonly string[];
  readonly inputs: readonly StepInput[];
  readonly timeoutSeconds?: number;
}

export interface CommitStep {
  readonly kind: 'commit';
  readonly container: string;
  readonly repository: string;
  readonly tag?: string;
}

export interface TagStep {
  readonly kind: 'tag';
  readonly image: string;
  readonly repository: string;
  readonly tag: string;
}

export interface SaveStep {
  readonly kind: 'save';
  readonly image: string;
  /** Written atomically (temp, fsync, rename, fsync of the folder), with a sha256 beside it. */
  readonly to: string;
}

export interface LoadStep {
  readonly kind: 'load';
  readonly from: string;
}

/** How a candidate is judged healthy before and after cutover. */
export type Probe =
  /** Golden queries: a JSON list `[{name, type, answers: [...]}]`, each must answer exactly so. */
  | { readonly kind: 'dns'; readonly queries: FileSource; readonly port: number }
  /** A command run inside the container (exec); exit 0 is healthy. */
  | { readonly kind: 'command'; readonly command: readonly string[] }
  /** A TCP connect to the container's address. */
  | { readonly kind: 'tcp'; readonly port: number };

export interface SwapStep {
  readonly kind: 'swap';
  /** The service container to replace, keeping its name, networks, ports, mounts, restart policy and labels. */
  readonly container: string;
  readonly image: string;
  readonly probe: Probe;
  /** How long the probe keeps trying, before and after cutover. */
  readonly windowSeconds: number;
  /** When no such container runs yet: how to create it the first time. */
  readonly create?: {
    readonly networks: readonly string[];
    /** `HOST_PORT:CONTAINER_PORT[/udp|/tcp]` or `IP:HOST_PORT:CONTAINER_PORT[/proto]`. */
    readonly publish: readonly string[];
    readonly restart: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly command: readonly string[];
    readonly hostname?: string;
    /** Least privilege unless declared: all capabilities dropped, read-only root with these tmpfs paths. */
    readonly user?: string;
    readonly tmpfs: readonly string[];
    readonly capabilities: readonly string[];
    readonly writableRoot: boolean;
  };
}

export interface PruneStep {
  readonly kind: 'prune';
  readonly repository: string;
  /** Images of the repository kept, newest first; the image any container uses is never removed. */
  readonly keep: number;
}

export type StepAction = BuildStep | RunStep | ValidateStep | CommitStep | TagStep | SaveStep | LoadStep | SwapStep | PruneStep;
export type StepKind = StepAction['kind'];
export const STEP_KINDS: readonly StepKind[] = ['build', 'run', 'validate', 'commit', 'tag', 'save', 'load', 'swap', 'prune'];

export interface RecipeStep {
  readonly id: string;
  readonly description?: string;
  /** Where it was declared, `FILE:LINE`, for messages. */
  readonly origin: string;
  readonly action: StepAction;
}

export interface Recipe {
  readonly name: string;
  readonly description?: string;
  /** The recipe file, absolute; relative paths in steps are against its folder. */
  readonly file: string;
  readonly variables: readonly RecipeVariable[];
  /** A host-wide lock name held for the whole run (e.g. one per DNS service), `${{ }}` allowed. */
  readonly lock?: string;
  readonly steps: readonly RecipeStep[];
}

/** One problem found in a recipe file: where, which step and field, and what. */
export interface RecipeProblem {
  /** `FILE:LINE`. */
  readonly origin: string;
  /** The step id, or `-` for the file's own keys. */
  readonly step: string;
  readonly field: string;
  readonly message: string;
}
