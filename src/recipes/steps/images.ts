/**
 * Image steps: `commit` a container, `tag`, `save` to a tar (atomically, with its sha256
 * beside it), `load` one back, and `prune` a repository down to its newest N images,
 * never removing one a container uses.
 */
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { NotFoundError } from '../../errors.js';
import { writeFileAtomic, writeStreamAtomic } from '../../host/atomic-file.js';
import type { CommitStep, LoadStep, PruneStep, SaveStep, TagStep } from '../recipe.js';
import { resolveRecipePath } from '../parse.js';
import type { StepContext, StepOutcome } from '../step-context.js';
import { LABEL_RECIPE, LABEL_RECIPE_STEP } from './build.js';
import { requireImage } from './require-image.js';

export async function runCommit(context: StepContext, step: CommitStep): Promise<StepOutcome> {
  const { docker } = context.deps;
  const container = await docker.inspectContainer(step.container);
  if (!container) throw new NotFoundError(`step ${context.step.id}: no container named ${step.container}`);
  const tag = step.tag ?? container.id.slice(0, 12);
  const reference = `${step.repository}:${tag}`;
  const existing = await docker.inspectImage(reference);
  // A commit of the same container under the same tag is the same image: keep it.
  if (existing && existing.labels['dtool.recipe.container'] === container.id) return { status: 'cached', image: reference, detail: reference };
  await docker.commitContainer(container.id, {
    repository: step.repository,
    tag,
    labels: { [LABEL_RECIPE]: context.recipe.name, [LABEL_RECIPE_STEP]: context.step.id, 'dtool.recipe.container': container.id },
  });
  return { status: 'done', image: reference, detail: `${step.container} → ${reference}` };
}

export async function runTag(context: StepContext, step: TagStep): Promise<StepOutcome> {
  const image = await requireImage(context.deps, step.image, context.step.id);
  const reference = `${step.repository}:${step.tag}`;
  if ((await context.deps.docker.inspectImage(reference))?.id === image.id) return { status: 'unchanged', image: reference };
  await context.deps.docker.tagImage(image.id, step.repository, step.tag);
  return { status: 'done', image: reference, detail: `${step.image} → ${reference}` };
}

export async function runSave(context: StepContext, step: SaveStep): Promise<StepOutcome> {
  const image = await requireImage(context.deps, step.image, context.step.id);
  const path = resolveRecipePath(context.recipe.file, step.to);
  await mkdir(dirname(path), { recursive: true });
  const { sha256 } = await writeStreamAtomic(path, await context.deps.docker.saveImage(step.image));
  await writeFileAtomic(`${path}.sha256`, `${sha256}  ${basename(path)}\n`);
  return { status: 'done', image: step.image, detail: `${path} (sha256 ${sha256.slice(0, 12)}, image ${image.id.slice(7, 19)})` };
}

export async function runLoad(context: StepContext, step: LoadStep): Promise<StepOutcome> {
  const path = resolveRecipePath(context.recipe.file, step.from);
  const loaded = await context.deps.docker.loadImage(createReadStream(path));
  const image = loaded[0];
  if (!image) throw new NotFoundError(`step ${context.step.id}: ${path} held no image`);
  return { status: 'done', image, detail: loaded.join(', ') };
}

export async function runPrune(context: StepContext, step: PruneStep): Promise<StepOutcome> {
  const { docker } = context.deps;
  const images = (await docker.listImages({ reference: step.repository })).sort((a, b) => b.created - a.created);
  const inUse = new Set((await docker.listContainers({ all: true })).map((c) => c.imageId));
  const removed: string[] = [];
  for (const image of images.slice(step.keep)) {
    if (inUse.has(image.id)) continue;
    for (const tag of image.tags.filter((t) => t.startsWith(`${step.repository}:`))) {
      await docker.removeImage(tag);
      removed.push(tag);
    }
  }
  return removed.length ? { status: 'done', detail: `removed ${removed.join(', ')}` } : { status: 'unchanged', detail: `${images.length} kept` };
}
