import { PrivilegeNotGrantedError } from '../errors.js';
import type { HelperRunSpec, Privilege } from './helper-spec.js';

/** Fails, before any Docker call, when a helper needs a privilege the user did not grant. */
export function assertGranted(spec: Pick<HelperRunSpec, 'helper' | 'privileges'>, grants: ReadonlySet<Privilege>): void {
  const missing = (spec.privileges ?? []).filter((p) => !grants.has(p));
  if (missing.length > 0) {
    throw new PrivilegeNotGrantedError(`helper ${spec.helper} needs the ${missing.join(', ')} privilege`, {
      hint: `allow it explicitly with ${missing.map((p) => `--allow ${p}`).join(' ')}`,
    });
  }
}

/** Paths the engine mounts read-only by default; `host-sysctl` lifts exactly /proc/sys. */
export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * The explicit equivalent of `Privileged: true`, for engines whose capability bounding set
 * lacks CAP_SYS_RESOURCE and so refuse the flag. Docker-in-Docker needs the cgroup
 * filesystem writable, which the flag would have given.
 */
export const PRIVILEGED_PROFILE = {
  CapAdd: ['ALL'],
  CapDrop: ['SYS_RESOURCE'],
  SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
  MaskedPaths: [] as string[],
  ReadonlyPaths: [] as string[],
  DeviceCgroupRules: ['a *:* rwm'],
  cgroupBind: '/sys/fs/cgroup',
} as const;

export const DOCKER_SOCKET = '/var/run/docker.sock';
