/**
 * What a target's mounts must not be, checked before any helper starts (pure). The helper
 * mounts the target's volumes at the target's paths, so a mount can bring Docker's own logs
 * within a glob's reach, or cover a path the helper runs from.
 */
import { UsageError } from '../../errors.js';
import { DOCKER_CONTAINERS_DIR, STATE_DIR, components, globReaches } from './settings.js';

export interface TargetMount {
  readonly source: string;
  readonly destination: string;
}

/** What the helper runs from or writes to: a target's mount there would replace it inside the helper. */
const HELPER_RUNS_FROM: readonly string[] = [
  '/tmp',
  '/run/secrets',
  STATE_DIR,
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib64',
  '/etc/ld.so.preload',
  '/etc/ld.so.cache',
];

/** Whether `path` is `dir` or below it (by components, so /var/lib/dockerx is not below /var/lib/docker). */
export function isWithin(path: string, dir: string): boolean {
  const p = components(path);
  const d = components(dir);
  return p.length >= d.length && d.every((part, i) => p[i] === part);
}

/** Where Docker's json-file logs appear inside the target through this mount, if they do. */
export function dockerLogsInside(mount: TargetMount): string | undefined {
  if (!mount.source.startsWith('/')) return undefined;
  if (isWithin(mount.source, DOCKER_CONTAINERS_DIR)) return mount.destination;
  if (isWithin(DOCKER_CONTAINERS_DIR, mount.source)) {
    const rest = components(DOCKER_CONTAINERS_DIR).slice(components(mount.source).length);
    return `/${[...components(mount.destination), ...rest].join('/')}`;
  }
  return undefined;
}

/**
 * Refuses a target whose mounts would have a glob reach Docker's json-file logs (the engine
 * keeps them open: a rotated one loses lines, a truncated one is corrupt), or would cover a
 * path the helper itself runs from or writes to.
 */
export function checkTargetMounts(target: string, mounts: readonly TargetMount[], globs: readonly string[]): void {
  for (const mount of mounts) {
    const own = HELPER_RUNS_FROM.find((dir) => isWithin(mount.destination, dir) || isWithin(dir, mount.destination));
    if (own !== undefined) {
      throw new UsageError(`${target} mounts ${mount.destination}, which would cover ${own} in the logrotate helper`, {
        hint: "the helper mounts the target's volumes at the same paths; rotate the logs of a container without such a mount",
      });
    }
    const dockerLogs = dockerLogsInside(mount);
    const glob = dockerLogs === undefined ? undefined : globs.find((g) => globReaches(g, dockerLogs));
    if (glob !== undefined) {
      throw new UsageError(`refusing ${target}: ${glob} reaches ${dockerLogs}, Docker's own json-file logs (mounted from ${mount.source})`, {
        hint: "the engine keeps writing to the file it opened: a rotated log loses lines and a truncated one is corrupt; limit them with the engine's log options (max-size, max-file) instead",
      });
    }
  }
}
