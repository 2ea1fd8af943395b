/**
 * The swarm's share of the orphan sweep (run/orphans.ts does it for helper containers): a
 * swarm job whose dtool process is gone (killed before its `finally` ran) leaves a service
 * and maybe secrets behind; the next swarm run from this host removes them. Only jobs of
 * this host are judged: those of other hosts are theirs.
 */
import type { Deps } from '../deps.js';
import { ownerFromLabels } from '../docker/labels.js';
import { ownerState } from '../host/owner.js';
import { LABEL_SWARM_JOB } from './service-spec.js';

export interface SwarmSweepReport {
  readonly services: readonly string[];
  readonly secrets: readonly string[];
}

export async function sweepSwarmOrphans(deps: Pick<Deps, 'docker' | 'owner' | 'processes' | 'reporter'>): Promise<SwarmSweepReport> {
  const gone = (labels: Readonly<Record<string, string>>) => {
    const owner = ownerFromLabels(labels);
    return owner !== undefined && ownerState(owner, deps.owner, deps.processes) === 'gone';
  };
  /** Removes the items whose owner is gone; returns their names. A failure is a warning. */
  const removeGone = async (
    items: readonly { readonly id: string; readonly name: string; readonly labels: Readonly<Record<string, string>> }[],
    remove: (id: string) => Promise<void>,
    what: string,
  ): Promise<string[]> => {
    const removed: string[] = [];
    for (const item of items) {
      if (!gone(item.labels)) continue;
      try {
        await remove(item.id);
        removed.push(item.name);
      } catch (error) {
        deps.reporter({ type: 'warning', message: `could not remove orphaned ${what} ${item.name}: ${(error as Error).message}` });
      }
    }
    return removed;
  };
  // Services first: Swarm refuses to remove a secret a service still uses.
  const services = await removeGone(
    await deps.docker.listServices({ labels: [LABEL_SWARM_JOB] }),
    (id) => deps.docker.removeService(id),
    'swarm job',
  );
  const secrets = await removeGone(
    await deps.docker.listSecrets({ labels: [LABEL_SWARM_JOB] }),
    (id) => deps.docker.removeSecret(id),
    'swarm secret',
  );
  if (services.length > 0 || secrets.length > 0) {
    deps.reporter({
      type: 'warning',
      message: `removed ${services.length} swarm job(s)${services.length ? ` (${services.join(', ')})` : ''} and ${secrets.length} swarm secret(s) left by dtool runs that are gone`,
    });
  }
  return { services, secrets };
}
