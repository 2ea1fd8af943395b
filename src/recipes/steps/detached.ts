/**
 * Detached `run`s: named containers that keep running after the recipe (a template to
 * commit, or clones of it). Idempotent by name: an existing container is kept (a replica
 * that stopped is started again); with `replace` (or `recipe run --replace`) one made from
 * another image or other settings is re-created.
 */
import { createHash } from 'node:crypto';
import { toServiceCreateOptions } from '../../core/service.js';
import type { Deps } from '../../deps.js';
import type { RunStep } from '../recipe.js';
import type { StepContext, StepOutcome } from '../step-context.js';
import { fillReplica } from '../template.js';
import { requireImage } from './require-image.js';

const LABEL_SPEC = 'dtool.recipe.spec';

export function replicaNames(step: Pick<RunStep, 'name' | 'replicas'>): string[] {
  const name = step.name ?? '';
  return step.replicas === undefined ? [name] : Array.from({ length: step.replicas }, (_, i) => `${name}-${i + 1}`);
}

/** What a detached container was made from: a change in any of it makes the container out of date. */
function specHash(step: RunStep, imageId: string, name: string): string {
  const fill = (text: string) => fillReplica(text, name);
  return createHash('sha256')
    .update(JSON.stringify([imageId, step.command, step.entrypoint ?? null, step.env, step.user ?? null, step.hostname ? fill(step.hostname) : null]))
    .update(JSON.stringify([step.networks, Object.entries(step.labels).map(([k, v]) => [k, fill(v)]), step.writableRoot]))
    .digest('hex')
    .slice(0, 16);
}

async function createStarted(deps: Deps, context: StepContext, step: RunStep, name: string, imageId: string): Promise<void> {
  const fill = (text: string) => fillReplica(text, name);
  const { options, extraNetworks } = toServiceCreateOptions({
    name,
    image: step.image,
    command: step.command,
    ...(step.user ? { user: step.user } : {}),
    ...(step.hostname ? { hostname: fill(step.hostname) } : {}),
    env: step.env,
    networks: step.networks.filter((n) => n !== 'default'),
    publish: [],
    restart: 'no',
    labels: {
      ...Object.fromEntries(Object.entries(step.labels).map(([k, v]) => [k, fill(v)])),
      'dtool.recipe': context.recipe.name,
      'dtool.recipe.step': context.step.id,
      [LABEL_SPEC]: specHash(step, imageId, name),
    },
    tmpfs: [],
    capabilities: [],
    writableRoot: step.writableRoot,
  });
  const id = await deps.docker.createContainer({ ...options, ...(step.entrypoint ? { Entrypoint: step.entrypoint } : {}) });
  try {
    for (const network of extraNetworks) await deps.docker.connectNetwork(network.name, id, network.aliases);
    await deps.docker.startContainer(id);
  } catch (error) {
    await deps.docker.removeContainer(id);
    throw error;
  }
}

export async function runDetached(context: StepContext, step: RunStep): Promise<StepOutcome> {
  const { deps } = context;
  const image = await requireImage(deps, step.image, context.step.id);
  const counts = { created: 0, replaced: 0, kept: 0, started: 0 };
  for (const name of replicaNames(step)) {
    const existing = await deps.docker.inspectDefinition(name);
    const replace = step.replace || context.replace;
    if (existing && (!replace || existing.labels[LABEL_SPEC] === specHash(step, image.id, name))) {
      counts.kept++;
      if (!existing.running && step.replicas !== undefined) {
        await deps.docker.startContainer(existing.id);
        counts.started++;
      }
      continue;
    }
    if (existing) {
      await deps.docker.removeContainer(existing.id);
      counts.replaced++;
    } else {
      counts.created++;
    }
    await createStarted(deps, context, step, name, image.id);
  }
  const detail = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${what} ${n}`)
    .join(', ');
  return { status: counts.created + counts.replaced + counts.started > 0 ? 'done' : 'unchanged', detail };
}
