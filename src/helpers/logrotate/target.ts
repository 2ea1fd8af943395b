/**
 * A logrotate target is a running container whose volumes hold the logs: named by
 * `--volumes-from` or selected by label. The helper mounts exactly those volumes, at the
 * target's paths, so the globs mean inside the helper what they mean inside the target.
 */
import type { ContainerDetails, DockerPort } from '../../docker/port.js';
import { NotFoundError } from '../../errors.js';
import type { TargetMount } from './safety.js';

export async function resolveTarget(docker: DockerPort, name: string): Promise<ContainerDetails> {
  const container = await docker.inspectContainer(name);
  if (!container) {
    throw new NotFoundError(`--volumes-from ${name}: no such container`, { hint: 'see docker ps for running containers' });
  }
  if (!container.running) {
    throw new NotFoundError(`--volumes-from ${name} is not running (${container.status})`, {
      hint: `its application must run to reopen its logs: docker start ${container.name}`,
    });
  }
  return container;
}

/** The targets by name: those named, then the running containers carrying all the labels (sorted, without repeats). */
export async function targetNames(docker: DockerPort, volumesFrom: readonly string[], labels: readonly string[]): Promise<string[]> {
  const names = [...volumesFrom];
  if (labels.length > 0) {
    const selected = (await docker.listContainers({ labels })).map((c) => c.name).sort((a, b) => a.localeCompare(b));
    if (selected.length === 0 && names.length === 0) {
      throw new NotFoundError(`no running container has the label${labels.length > 1 ? 's' : ''} ${labels.join(', ')}`);
    }
    for (const name of selected) if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** The target's binds and volumes, as the checks in safety.ts take them. */
export function targetMounts(container: ContainerDetails): TargetMount[] {
  return container.mounts.filter((m) => m.type === 'bind' || m.type === 'volume').map((m) => ({ source: m.source, destination: m.destination }));
}
