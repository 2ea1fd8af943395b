/** `dtool prune`: removes leftover dtool containers and volumes, selected by dtool's label only. */
import type { Deps } from '../deps.js';
import { LABEL_MANAGED } from '../docker/labels.js';
import { LABEL_SWARM_JOB } from '../swarm/service-spec.js';

export interface PruneReport {
  readonly containers: readonly string[];
  readonly volumes: readonly string[];
}

export async function prune(deps: Deps, options: { readonly dryRun?: boolean } = {}): Promise<PruneReport> {
  const containers = await deps.docker.listContainers({ labels: [LABEL_MANAGED], all: true });
  const volumes = await deps.docker.listVolumes({ labels: [LABEL_MANAGED] });
  if (!options.dryRun) {
    for (const container of containers) await deps.docker.removeContainer(container.id);
    for (const volume of volumes) await deps.docker.removeVolume(volume.name);
  }
  return { containers: containers.map((c) => c.name), volumes: volumes.map((v) => v.name) };
}

export interface SwarmPruneReport {
  readonly services: readonly string[];
  readonly secrets: readonly string[];
}

/**
 * `dtool prune --swarm`: removes every dtool swarm job (service) and secret on the swarm
 * this engine manages, selected by dtool's labels only, whoever started them.
 */
export async function pruneSwarm(deps: Deps, options: { readonly dryRun?: boolean } = {}): Promise<SwarmPruneReport> {
  const labels = [LABEL_MANAGED, LABEL_SWARM_JOB];
  const services = await deps.docker.listServices({ labels });
  const secrets = await deps.docker.listSecrets({ labels });
  if (!options.dryRun) {
    // Services first: Swarm refuses to remove a secret a service still uses.
    for (const service of services) await deps.docker.removeService(service.id);
    for (const secret of secrets) await deps.docker.removeSecret(secret.id);
  }
  return { services: services.map((s) => s.name), secrets: secrets.map((s) => s.name) };
}
