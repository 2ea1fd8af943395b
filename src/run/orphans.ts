/**
 * The sweep every dtool start runs: helper containers and secret folders whose owning
 * dtool process is gone are removed. The guard and AutoRemove already clean up after a
 * killed dtool while the engine keeps running; this catches the rest: an engine restart
 * (AutoRemove does not fire for containers it stopped), a helper that was still being
 * created when its owner died, and the secret files a killed owner never got to remove.
 * Only helpers of this host are judged; those of other hosts on a shared engine are theirs.
 */
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Deps } from '../deps.js';
import { LABEL_OWNER_PID, ownerFromLabels } from '../docker/labels.js';
import { ownerState } from '../host/owner.js';
import { LABEL_SWARM_JOB } from '../swarm/service-spec.js';
import { SECRET_DIR_PREFIX, secretDirOwner } from '../host/secret-files.js';

export interface SweepReport {
  /** Names of the containers removed. */
  readonly containers: readonly string[];
  /** Secret folders removed. */
  readonly secretDirs: readonly string[];
}

export async function sweepOrphans(
  deps: Pick<Deps, 'docker' | 'owner' | 'processes' | 'reporter'>,
  options: { readonly secretsDir?: string } = {},
): Promise<SweepReport> {
  const containers: string[] = [];
  for (const container of await deps.docker.listContainers({ labels: [LABEL_OWNER_PID], all: true })) {
    // A swarm job's task containers are Swarm's: removing the service removes them (swarm/sweep.ts).
    if (container.labels[LABEL_SWARM_JOB] !== undefined) continue;
    const owner = ownerFromLabels(container.labels);
    if (!owner || ownerState(owner, deps.owner, deps.processes) !== 'gone') continue;
    try {
      await deps.docker.removeContainer(container.id);
      containers.push(container.name);
    } catch (error) {
      deps.reporter({ type: 'warning', message: `could not remove orphaned helper ${container.name}: ${(error as Error).message}` });
    }
  }

  const secretsDir = options.secretsDir ?? tmpdir();
  const secretDirs: string[] = [];
  const entries = await readdir(secretsDir).catch(() => [] as string[]);
  for (const name of entries.filter((n) => n.startsWith(SECRET_DIR_PREFIX))) {
    const recorded = secretDirOwner(name);
    if (!recorded) continue;
    const owner = { ...deps.owner, ...recorded };
    if (ownerState(owner, deps.owner, deps.processes) !== 'gone') continue;
    await rm(join(secretsDir, name), { recursive: true, force: true });
    secretDirs.push(name);
  }

  if (containers.length > 0 || secretDirs.length > 0) {
    const parts = [
      ...(containers.length ? [`${containers.length} helper container${containers.length > 1 ? 's' : ''} (${containers.join(', ')})`] : []),
      ...(secretDirs.length ? [`${secretDirs.length} secret folder${secretDirs.length > 1 ? 's' : ''}`] : []),
    ];
    deps.reporter({ type: 'warning', message: `removed ${parts.join(' and ')} left by dtool runs that are gone` });
  }
  return { containers, secretDirs };
}
