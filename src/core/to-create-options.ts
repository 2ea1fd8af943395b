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
  /** Host paths of the files holding the spec's secrets, by secret name. */
  readonly secretFiles: Readonly<Record<string, string>>;
}

export const SECRETS_DIR = '/run/secrets';
/** The entrypoint of every dtool helper image (images/shared/dtool-guard). */
export const GUARD = 'dtool-guard';
const TMPFS_OPTIONS = 'rw,nosuid,nodev,size=256m';

function toMount(mount: HelperMount): MountSpec {
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
  for (const secret of spec.secrets ?? []) {
    const source = context.secretFiles[secret.name];
    if (source === undefined) throw new Error(`secret ${secret.name} was not materialised`);
    mounts.push({ Type: 'bind', Source: source, Target: `${SECRETS_DIR}/${secret.name}`, ReadOnly: true });
  }
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
  const env = { ...spec.env, ...(guarded ? { DTOOL_GUARD: 'stdin' } : {}) };
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
