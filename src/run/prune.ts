/** `dtool prune`: removes leftover dtool containers and volumes, selected by dtool's label only. */
import type { Deps } from '../deps.js';
import { LABEL_MANAGED } from '../docker/labels.js';

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
