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
  const services: string[] = [];
  for (const service of await deps.docker.listServices({ labels: [LABEL_SWARM_JOB] })) {
    if (!gone(service.labels)) continue;
    try {
      await deps.docker.removeService(service.id);
      services.push(service.name);
    } catch (error) {
      deps.reporter({ type: 'warning', message: `could not remove orphaned swarm job ${service.name}: ${(error as Error).message}` });
    }
  }
  const secrets: string[] = [];
  for (const secret of await deps.docker.listSecrets({ labels: [LABEL_SWARM_JOB] })) {
    if (!gone(secret.labels)) continue;
    try {
      await deps.docker.removeSecret(secret.id);
      secrets.push(secret.name);
    } catch (error) {
      deps.reporter({ type: 'warning', message: `could not remove orphaned swarm secret ${secret.name}: ${(error as Error).message}` });
    }
  }
  if (services.length > 0 || secrets.length > 0) {
    deps.reporter({
      type: 'warning',
      message: `removed ${services.length} swarm job(s)${services.length ? ` (${services.join(', ')})` : ''} and ${secrets.length} swarm secret(s) left by dtool runs that are gone`,
    });
  }
  return { services, secrets };
}
