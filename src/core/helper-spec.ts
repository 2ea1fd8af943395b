/**
 * A helper run is plain data: what image, what command, what it mounts and reaches, which
 * secrets it reads and which privileges it needs. `toCreateOptions` turns it into the
 * engine's create options; nothing else decides privileges.
 */

/**
 * Privileges beyond an unprivileged container. A helper declares them; the user grants them
 * (`--allow NAME`); a helper whose privilege is not granted fails before any Docker call.
 *  - privileged:    a full privileged container (Docker-in-Docker)
 *  - host-sysctl:   a writable /proc/sys, to change the host's kernel settings
 *  - docker-socket: the engine's socket mounted inside the helper
 */
export type Privilege = 'privileged' | 'host-sysctl' | 'docker-socket';
export const PRIVILEGES: readonly Privilege[] = ['privileged', 'host-sysctl', 'docker-socket'];

/**
 * How a granted `privileged` is realised: the engine's `Privileged` flag, or an explicit
 * profile with the same effect, for engines that refuse the flag ("unable to apply caps").
 */
export type PrivilegedMode = 'flag' | 'capabilities';

export type HelperMount =
  | { readonly type: 'bind'; readonly source: string; readonly target: string; readonly readOnly: boolean }
  /** Without a source: an anonymous volume, removed with the container. */
  | {
      readonly type: 'volume';
      readonly source?: string;
      readonly target: string;
      readonly readOnly: boolean;
      /** Set on the volume when this mount creates it (a volume that exists keeps its own). */
      readonly labels?: Readonly<Record<string, string>>;
    }
  | { readonly type: 'tmpfs'; readonly target: string; readonly sizeBytes?: number };

/**
 * A secret reaches the helper only as a read-only file at /run/secrets/<name>, on a tmpfs,
 * sent through the engine's API after start (never a file on the caller's disk, nor argv,
 * env, labels or anything `docker inspect` shows). Needs a dtool image (dtool-guard receives
 * it) and, with `user`, a numeric `uid[:gid]` (the tmpfs belongs to that user).
 */
export interface HelperSecret {
  readonly name: string;
  readonly content: string;
}

export type HelperNetwork =
  | { readonly mode: 'default' }
  | { readonly mode: 'none' }
  | { readonly mode: 'host' }
  /** A named network; `links` are legacy `container:alias` links (default bridge only). */
  | { readonly mode: 'network'; readonly name: string; readonly links?: readonly string[] };

export interface HelperRunSpec {
  /** Short name, used in labels and error messages, e.g. `mysql-backup`. */
  readonly helper: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly entrypoint?: readonly string[];
  /** `uid:gid`; the image's user when absent. */
  readonly user?: string;
  /** Never secrets: env is visible in `docker inspect`. */
  readonly env?: Readonly<Record<string, string>>;
  readonly mounts?: readonly HelperMount[];
  /** Containers whose volumes the helper mounts at their own paths (`docker run --volumes-from`), `NAME[:ro]`. */
  readonly volumesFrom?: readonly string[];
  readonly secrets?: readonly HelperSecret[];
  readonly network?: HelperNetwork;
  /** Capabilities added back after dropping all, e.g. CHOWN for a datadir initialiser. */
  readonly capabilities?: readonly string[];
  readonly privileges?: readonly Privilege[];
  /** Helpers that must write outside their tmpfs mounts declare it. */
  readonly writableRoot?: boolean;
  /** Writable scratch paths on a read-only root; `/tmp` is always added. */
  readonly tmpfs?: readonly string[];
  readonly timeoutMs?: number;
  /**
   * The image runs `dtool-guard` as its entrypoint, as every image under images/ does: the
   * helper then stops when its caller is gone (its stdin closes). Default true; false for
   * foreign images, which only AutoRemove and the orphan sweep clean up.
   */
  readonly guarded?: boolean;
  /**
   * Kept after it exits (no AutoRemove) until dtool has copied its outputs out through the
   * archive API; dtool removes it then, and the orphan sweep does if dtool died first.
   */
  readonly keepUntilCollected?: boolean;
}

export interface HelperResult {
  readonly helper: string;
  readonly runId: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputTruncated: boolean;
  readonly durationMs: number;
}
