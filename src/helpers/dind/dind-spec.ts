/**
 * The DinD helper: Debian's docker.io daemon in a container. It needs the `privileged`
 * privilege, granted only by `--allow privileged`: the inner daemon mounts overlay
 * filesystems, creates network namespaces and iptables rules for its build containers,
 * manages cgroups and device nodes. How it is realised (the engine's flag or the explicit
 * capability profile) is `--privileged-mode`, decided in core/to-create-options.ts.
 */
import type { HelperRunSpec, Privilege } from '../../core/helper-spec.js';
import type { Deps } from '../../deps.js';
import { LABEL_STATE } from '../../docker/labels.js';

export const DIND_PRIVILEGES: readonly Privilege[] = ['privileged'];
/** Printed by dtool-dind once the inner daemon answers. */
export const DIND_READY = /dtool-dind: ready/;
export const DIND_DATA_ROOT = '/var/lib/docker';
export const DIND_CACHE_STATE = 'dind-cache';
export const LABEL_DIND_CONTEXT = 'dtool.dind.context';

export async function dindSpec(deps: Deps, cacheVolume: string | undefined, context: string): Promise<HelperRunSpec> {
  const image = await deps.images.ensure('dind');
  return {
    helper: 'dind',
    image: image.reference,
    command: ['dtool-dind'],
    privileges: DIND_PRIVILEGES,
    mounts: [
      cacheVolume
        ? {
            type: 'volume',
            source: cacheVolume,
            target: DIND_DATA_ROOT,
            readOnly: false,
            labels: { [LABEL_STATE]: DIND_CACHE_STATE, [LABEL_DIND_CONTEXT]: context },
          }
        : // Anonymous: removed with the container (--no-cache).
          { type: 'volume', target: DIND_DATA_ROOT, readOnly: false },
    ],
  };
}
