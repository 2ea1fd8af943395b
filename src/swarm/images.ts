/**
 * Getting the helper image onto the nodes that run the job. With a registry: tag, push, and
 * let each node pull. Without one (the default; dtool's images are built locally and never
 * pushed anywhere): `docker save` here, `docker load` into each node's engine, reached at
 * the address its `dtool.engine` node label gives. A node that has the image already (same
 * ID under the same reference) and the node that is this engine are skipped; a node that
 * cannot be loaded is reported and left out of the job, the others still run.
 */
import type { Deps } from '../deps.js';
import type { SwarmNode } from '../docker/port.js';
import { UsageError, toDtoolError } from '../errors.js';
import { mapConcurrent } from '../run/concurrency.js';

/** The node label holding the address of the node's engine (`unix:///…/docker.sock`, `tcp://host:2375`). */
export const ENGINE_LABEL = 'dtool.engine';

export const DEFAULT_LOAD_CONCURRENCY = 3;

export type ImageSource = { readonly kind: 'registry'; readonly reference: string } | { readonly kind: 'load'; readonly reference: string };

const REGISTRY = /^[A-Za-z0-9.-]+(:\d{1,5})?(\/[a-z0-9._-]+)*$/;

/** Validates `--registry` (a host, with an optional port and path: no scheme). */
export function parseRegistry(value: string): string {
  const trimmed = value.trim().replace(/\/+$/, '');
  if (!REGISTRY.test(trimmed)) {
    throw new UsageError(`--registry expects HOST[:PORT][/PATH], e.g. registry.example:5000, not "${value}"`);
  }
  return trimmed;
}

/** Whether the first component of a reference names a registry (docker's own rule). */
function hasRegistryHost(reference: string): boolean {
  const slash = reference.indexOf('/');
  if (slash < 0) return false;
  const first = reference.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

/** Where the nodes find the image: `REGISTRY/REPO:TAG` with --registry, else the local reference, loaded. */
export function chooseImageSource(reference: string, registry: string | undefined): ImageSource {
  if (registry === undefined) return { kind: 'load', reference };
  const local = hasRegistryHost(reference) ? reference.slice(reference.indexOf('/') + 1) : reference;
  return { kind: 'registry', reference: `${registry}/${local}` };
}

export type NodeImageStatus = { readonly status: 'self' | 'present' | 'loaded' } | { readonly status: 'failed'; readonly error: string };

/** Tags the local image for the registry and pushes it; the nodes then pull it. */
export async function pushToRegistry(deps: Pick<Deps, 'docker'>, localReference: string, target: string): Promise<void> {
  const colon = target.lastIndexOf(':');
  const [repository, tag] = colon > target.lastIndexOf('/') ? [target.slice(0, colon), target.slice(colon + 1)] : [target, 'latest'];
  await deps.docker.tagImage(localReference, repository, tag);
  await deps.docker.pushImage(target);
}

/**
 * Loads `reference` into every node that lacks it, at most `concurrency` at once. Never
 * throws for one node: its failure is its status. Throws only when the image is not here.
 */
export async function distributeImage(
  deps: Pick<Deps, 'docker' | 'connectEngine' | 'reporter' | 'signal'>,
  reference: string,
  nodes: readonly SwarmNode[],
  selfNodeId: string,
  concurrency = DEFAULT_LOAD_CONCURRENCY,
): Promise<Map<string, NodeImageStatus>> {
  const local = await deps.docker.inspectImage(reference);
  if (!local) throw new UsageError(`image ${reference} is not on this engine: nothing to load onto the swarm's nodes`);
  const statuses = new Map<string, NodeImageStatus>();
  await mapConcurrent(nodes, concurrency, async (node) => {
    if (node.id === selfNodeId) {
      statuses.set(node.id, { status: 'self' });
      return;
    }
    const address = node.labels[ENGINE_LABEL];
    if (!address) {
      statuses.set(node.id, {
        status: 'failed',
        error: `node ${node.hostname} has no ${ENGINE_LABEL} label: dtool cannot reach its engine to load ${reference} (set it with docker node update --label-add ${ENGINE_LABEL}=unix:///… ${node.hostname}, or use --registry)`,
      });
      return;
    }
    try {
      if (deps.signal?.aborted) throw new Error('interrupted');
      const engine = await deps.connectEngine(address);
      const there = await engine.inspectImage(reference);
      if (there?.id === local.id) {
        statuses.set(node.id, { status: 'present' });
        return;
      }
      deps.reporter({ type: 'info', message: `loading ${reference} into ${node.hostname} (${address})` });
      const tar = await deps.docker.saveImage(reference);
      // A load that fails midway leaves the save stream open on this engine: close it.
      const loaded = await engine.loadImage(tar).finally(() => tar.destroy());
      const after = await engine.inspectImage(reference);
      if (after?.id !== local.id)
        throw new Error(`the load reported ${loaded.join(', ') || 'nothing'}, and ${reference} is not there with ID ${local.id.slice(7, 19)}`);
      statuses.set(node.id, { status: 'loaded' });
    } catch (caught) {
      statuses.set(node.id, {
        status: 'failed',
        error: `loading ${reference} into ${node.hostname} (${address}) failed: ${toDtoolError(caught).message}`,
      });
    }
  });
  return statuses;
}
