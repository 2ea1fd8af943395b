/** `dtool prune`: removes leftover dtool containers and volumes, selected by dtool's label only. */
import type { Deps } from '../deps.js';
import { LABEL_MANAGED } from '../docker/labels.js';
import { ENGINE_LABEL } from '../swarm/images.js';
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
  /** Job containers Swarm left on the nodes, as `NODE/NAME`. */
  readonly containers: readonly string[];
  /** Nodes whose engine dtool could not reach (no dtool.engine label, or it failed), with why. */
  readonly unreachable: readonly string[];
}

/**
 * `dtool prune --swarm`: removes every dtool swarm job (service) and secret on the swarm
 * this engine manages, selected by dtool's labels only, whoever started them; then the job
 * containers Swarm leaves on the nodes (moby/moby#42789), through each node's engine.
 */
export async function pruneSwarm(deps: Deps, options: { readonly dryRun?: boolean } = {}): Promise<SwarmPruneReport> {
  const labels = [LABEL_MANAGED, LABEL_SWARM_JOB];
  const selfNodeId = (await deps.docker.info()).swarm?.nodeId;
  const nodes = await deps.docker.listNodes();
  const services = await deps.docker.listServices({ labels });
  const secrets = await deps.docker.listSecrets({ labels });
  if (!options.dryRun) {
    // Services first: Swarm refuses to remove a secret a service still uses.
    for (const service of services) await deps.docker.removeService(service.id);
    for (const secret of secrets) await deps.docker.removeSecret(secret.id);
  }
  const containers: string[] = [];
  const unreachable: string[] = [];
  for (const node of nodes) {
    const address = node.labels[ENGINE_LABEL];
    if (node.id !== selfNodeId && !address) {
      unreachable.push(`${node.hostname} (no ${ENGINE_LABEL} label)`);
      continue;
    }
    try {
      const engine = node.id === selfNodeId ? deps.docker : await deps.connectEngine(address!);
      for (const container of await engine.listContainers({ labels, all: true })) {
        if (!options.dryRun) await engine.removeContainer(container.id);
        containers.push(`${node.hostname}/${container.name}`);
      }
    } catch (error) {
      unreachable.push(`${node.hostname} (${(error as Error).message})`);
    }
  }
  return { services: services.map((s) => s.name), secrets: secrets.map((s) => s.name), containers, unreachable };
}
