/**
 * The one place that writes privileges into container create options. Pure: a test pins
 * its output for every helper, so a privilege change is always a visible diff.
 */
import { helperLabels } from '../docker/labels.js';
import type { ContainerCreateOptions, MountSpec } from '../docker/port.js';
import type { OwnerIdentity } from '../host/owner.js';
import { DEFAULT_READONLY_PATHS, DOCKER_SOCKET, PRIVILEGED_PROFILE, assertGranted } from './privileges.js';
import type { HelperMount, HelperRunSpec, Privilege, PrivilegedMode } from './helper-spec.js';

export interface CreateContext {
  readonly runId: string;
  readonly version: string;
  readonly grants: ReadonlySet<Privilege>;
  readonly privilegedMode: PrivilegedMode;
  /** The dtool process creating the helper, recorded in its labels for the orphan sweep. */
  readonly owner: OwnerIdentity;
}

export const SECRETS_DIR = '/run/secrets';
/** Names the secrets dtool-guard waits for before it runs the command (names only, never contents). */
export const SECRETS_ENV = 'DTOOL_SECRETS';
const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MIB = 1024 * 1024;
/** The entrypoint of every dtool helper image (images/shared/dtool-guard). */
export const GUARD = 'dtool-guard';
const TMPFS_OPTIONS = 'rw,nosuid,nodev,size=256m';

/** A helper's mount in the Engine API's terms: the same for a container and a Swarm service. */
export function toMount(mount: HelperMount): MountSpec {
  switch (mount.type) {
    case 'bind':
      return { Type: 'bind', Source: mount.source, Target: mount.target, ReadOnly: mount.readOnly };
    case 'volume':
      return {
        Type: 'volume',
        ...(mount.source ? { Source: mount.source } : {}),
        Target: mount.target,
        ReadOnly: mount.readOnly,
        ...(mount.labels ? { VolumeOptions: { Labels: { ...mount.labels } } } : {}),
      };
    case 'tmpfs':
      return { Type: 'tmpfs', Target: mount.target, ...(mount.sizeBytes ? { TmpfsOptions: { SizeBytes: mount.sizeBytes } } : {}) };
  }
}

/**
 * The tmpfs the secrets are delivered into after start (run/helper-container.ts): private
 * to the helper's user, never executable, sized for its secrets (1 MiB at least).
 */
export function secretsTmpfsOptions(spec: HelperRunSpec): string {
  const secrets = spec.secrets ?? [];
  const names = new Set<string>();
  for (const secret of secrets) {
    if (!SECRET_NAME.test(secret.name)) throw new Error(`invalid secret name: ${secret.name}`);
    if (names.has(secret.name)) throw new Error(`two secrets named ${secret.name}`);
    names.add(secret.name);
  }
  if (!(spec.guarded ?? true)) throw new Error(`helper ${spec.helper}: secrets need a dtool image, whose dtool-guard receives them`);
  const bytes = secrets.reduce((sum, s) => sum + Buffer.byteLength(s.content) + 4096, 0);
  const size = Math.max(1, Math.ceil(bytes / MIB)) * MIB;
  let owner = '';
  if (spec.user !== undefined) {
    const numeric = /^(\d+)(?::(\d+))?$/.exec(spec.user);
    if (!numeric) throw new Error(`helper ${spec.helper}: a helper with secrets names its user as uid[:gid], not "${spec.user}"`);
    owner = `,uid=${numeric[1]}${numeric[2] !== undefined ? `,gid=${numeric[2]}` : ''}`;
  }
  return `rw,noexec,nosuid,nodev,size=${size},mode=0700${owner}`;
}

function networkOptions(spec: HelperRunSpec): { NetworkMode?: string; Links?: readonly string[] } {
  const network = spec.network ?? { mode: 'default' };
  switch (network.mode) {
    case 'default':
      return {};
    case 'none':
    case 'host':
      return { NetworkMode: network.mode };
    case 'network':
      return { NetworkMode: network.name, ...(network.links?.length ? { Links: network.links } : {}) };
  }
}

export function toCreateOptions(spec: HelperRunSpec, context: CreateContext): ContainerCreateOptions {
  assertGranted(spec, context.grants);
  const privileges = new Set(spec.privileges ?? []);
  const privileged = privileges.has('privileged');
  const explicitPrivileged = privileged && context.privilegedMode === 'capabilities';

  const mounts: MountSpec[] = (spec.mounts ?? []).map(toMount);
  if (privileges.has('docker-socket')) {
    mounts.push({ Type: 'bind', Source: DOCKER_SOCKET, Target: DOCKER_SOCKET, ReadOnly: false });
  }
  if (explicitPrivileged) {
    mounts.push({ Type: 'bind', Source: PRIVILEGED_PROFILE.cgroupBind, Target: PRIVILEGED_PROFILE.cgroupBind, ReadOnly: false });
  }

  const readonlyRoot = !spec.writableRoot && !privileged;
  const tmpfs: Record<string, string> = {};
  if (readonlyRoot) {
    for (const path of ['/tmp', ...(spec.tmpfs ?? [])]) tmpfs[path] = TMPFS_OPTIONS;
  }
  // Secrets never reach the engine in create options: only an empty tmpfs to receive them,
  // and their names for dtool-guard, which waits for them.
  const secretNames = (spec.secrets ?? []).map((s) => s.name);
  if (secretNames.length) tmpfs[SECRETS_DIR] = secretsTmpfsOptions(spec);

  const privilegeOptions = privileged
    ? explicitPrivileged
      ? {
          CapAdd: [...PRIVILEGED_PROFILE.CapAdd],
          CapDrop: [...PRIVILEGED_PROFILE.CapDrop],
          SecurityOpt: [...PRIVILEGED_PROFILE.SecurityOpt],
          MaskedPaths: [...PRIVILEGED_PROFILE.MaskedPaths],
          ReadonlyPaths: [...PRIVILEGED_PROFILE.ReadonlyPaths],
          DeviceCgroupRules: [...PRIVILEGED_PROFILE.DeviceCgroupRules],
        }
      : { Privileged: true }
    : {
        CapDrop: ['ALL'],
        ...(spec.capabilities?.length ? { CapAdd: [...spec.capabilities] } : {}),
        SecurityOpt: ['no-new-privileges'],
        ...(privileges.has('host-sysctl') ? { ReadonlyPaths: DEFAULT_READONLY_PATHS.filter((p) => p !== '/proc/sys') } : {}),
      };

  // Helpers die with their caller, in three layers (each covers what the others cannot):
  //  - OpenStdin + StdinOnce: dtool holds the helper's stdin open through its attach
  //    connection; when the dtool process dies, even by SIGKILL, the connection drops, the
  //    engine closes that stdin, and dtool-guard (DTOOL_GUARD=stdin) stops the command.
  //  - AutoRemove: like `docker run --rm`, the engine removes the stopped container, so
  //    nothing waits for `dtool prune`; dtool still reads the exit code (wait "removed").
  //  - Owner labels: a later dtool start removes helpers whose owner is gone (run/orphans.ts),
  //    for the case where neither of the above fired (the engine itself restarted).
  const guarded = spec.guarded ?? true;
  const env = {
    ...spec.env,
    ...(guarded ? { DTOOL_GUARD: 'stdin' } : {}),
    ...(secretNames.length ? { [SECRETS_ENV]: secretNames.join(',') } : {}),
  };
  return {
    Image: spec.image,
    Cmd: [...spec.command],
    // An entrypoint that replaces the image's must keep the guard in front of it.
    ...(spec.entrypoint ? { Entrypoint: guarded ? [GUARD, ...spec.entrypoint] : [...spec.entrypoint] } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    ...(Object.keys(env).length ? { Env: Object.entries(env).map(([k, v]) => `${k}=${v}`) } : {}),
    Labels: helperLabels(spec.helper, context.runId, context.version, context.owner),
    AttachStdin: guarded,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    OpenStdin: guarded,
    StdinOnce: guarded,
    HostConfig: {
      ...(mounts.length ? { Mounts: mounts } : {}),
      ...(spec.volumesFrom?.length ? { VolumesFrom: [...spec.volumesFrom] } : {}),
      ...(Object.keys(tmpfs).length ? { Tmpfs: tmpfs } : {}),
      ...networkOptions(spec),
      ...privilegeOptions,
      ReadonlyRootfs: readonlyRoot,
      AutoRemove: !spec.keepUntilCollected,
      // tini as PID 1: signals reach the helper's script and zombies are reaped.
      Init: true,
    },
  };
}
