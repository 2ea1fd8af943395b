/** The DinD cache volumes: named volumes keeping an inner daemon's layers between builds, one per context by default. */
import type { Deps } from '../../deps.js';
import { LABEL_STATE } from '../../docker/labels.js';
import { NotFoundError } from '../../errors.js';
import { DIND_CACHE_STATE, LABEL_DIND_CONTEXT } from './dind-spec.js';

export interface DindCacheVolume {
  readonly name: string;
  /** The build context it was made for. */
  readonly context: string;
}

export async function listDindCaches(deps: Deps): Promise<DindCacheVolume[]> {
  const volumes = await deps.docker.listVolumes({ labels: [`${LABEL_STATE}=${DIND_CACHE_STATE}`] });
  return volumes.map((v) => ({ name: v.name, context: v.labels[LABEL_DIND_CONTEXT] ?? '' })).sort((a, b) => a.name.localeCompare(b.name));
}

/** Removes the named caches (all of them with `all`); only volumes labelled as DinD caches are touched. */
export async function removeDindCaches(deps: Deps, names: readonly string[], all: boolean): Promise<string[]> {
  const caches = await listDindCaches(deps);
  const unknown = names.filter((name) => !caches.some((c) => c.name === name));
  if (unknown.length) throw new NotFoundError(`not a dtool DinD cache: ${unknown.join(', ')}`, { hint: 'dtool dind cache ls lists them' });
  const targets = all ? caches.map((c) => c.name) : [...names];
  for (const name of targets) await deps.docker.removeVolume(name);
  return targets;
}
