/**
 * `build`: a dtool helper image (through the image catalog), or a context folder and/or
 * an inline Dockerfile plus files from earlier steps. The image is tagged
 * `REPOSITORY:<content hash>`, the hash covering the Dockerfile, the context's files, the
 * injected files, the build arguments and the IDs of the images it builds FROM: an
 * unchanged input finds its image and skips the build.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { baseImages } from '../../core/dockerfile.js';
import { NotFoundError, UsageError } from '../../errors.js';
import { hashPath, listTree } from '../../host/file-tree.js';
import { type ArchiveEntry, packEntries } from '../../host/tar.js';
import type { BuildStep } from '../recipe.js';
import { resolveRecipePath } from '../parse.js';
import type { StepContext, StepOutcome } from '../step-context.js';

/** The name an inline Dockerfile takes in the context, clear of any file the context has. */
const INLINE_DOCKERFILE = '.dtool-recipe.Dockerfile';
export const LABEL_RECIPE = 'dtool.recipe';
export const LABEL_RECIPE_STEP = 'dtool.recipe.step';
export const LABEL_RECIPE_INPUTS = 'dtool.recipe.inputs';

export async function runBuild(context: StepContext, step: BuildStep): Promise<StepOutcome> {
  const { deps } = context;
  if (step.helperImage) {
    const built = await deps.images.ensure(step.helperImage);
    return { status: built.cached ? 'cached' : 'done', image: built.reference, detail: built.reference };
  }

  const contextDir = step.context ? resolveRecipePath(context.recipe.file, step.context) : undefined;
  if (contextDir && !(await stat(contextDir).catch(() => undefined))?.isDirectory()) {
    throw new NotFoundError(`step ${context.step.id}: build context ${contextDir} is not a folder`);
  }
  const dockerfileName = step.inline !== undefined ? INLINE_DOCKERFILE : (step.dockerfile ?? 'Dockerfile');
  const dockerfile =
    step.inline ??
    (await readFile(join(contextDir ?? '', dockerfileName), 'utf8').catch(() => {
      throw new NotFoundError(`step ${context.step.id}: no ${dockerfileName} in ${contextDir}`);
    }));

  const contextFiles = contextDir ? await listTree(contextDir, (path) => path === '.git' || path.startsWith('.git/')) : [];
  const injected = await Promise.all(
    step.files.map(async (file) => ({ name: file.target.replace(/^\/+/, ''), path: await context.file(file.source) })),
  );

  // Bases first: one that nobody has is an error before anything is built.
  const bases = baseImages(dockerfile, step.args);
  if (bases.unresolved.length) throw new UsageError(`step ${context.step.id}: FROM has no image after build arguments: ${bases.unresolved[0]}`);
  const baseIds: string[] = [];
  for (const base of bases.images) {
    const image = await deps.docker.inspectImage(base);
    if (!image)
      throw new NotFoundError(`step ${context.step.id}: base image ${base} is not on this engine`, {
        hint: 'dtool never pulls: build or load it first',
      });
    baseIds.push(`${base}=${image.id}`);
  }

  const hash = createHash('sha256');
  hash.update(`dockerfile\0${dockerfile}\0bases\0${baseIds.join('\0')}\0`);
  hash.update(`args\0${JSON.stringify(Object.entries(step.args).sort())}\0labels\0${JSON.stringify(Object.entries(step.labels).sort())}\0`);
  for (const file of contextFiles) hash.update(`context\0${file}\0${await hashPath(join(contextDir!, file))}\0`);
  for (const file of [...injected].sort((a, b) => a.name.localeCompare(b.name))) hash.update(`file\0${file.name}\0${await hashPath(file.path)}\0`);
  const inputs = hash.digest('hex').slice(0, 12);

  const repository = step.repository ?? `dtool-recipe/${context.recipe.name}-${context.step.id}`;
  const reference = `${repository}:${inputs}`;
  if (await deps.docker.inspectImage(reference)) return { status: 'cached', image: reference, detail: reference };

  const entries: ArchiveEntry[] = [
    ...contextFiles.map((file) => ({ name: file, path: join(contextDir!, file) })),
    ...(step.inline !== undefined ? [{ name: INLINE_DOCKERFILE, content: step.inline }] : []),
    ...injected,
  ];
  deps.reporter({ type: 'image.build.start', image: context.step.id, tag: reference });
  await deps.docker.buildImage(packEntries(entries), {
    tags: [reference, `${repository}:latest`],
    dockerfile: dockerfileName,
    buildArgs: step.args,
    labels: { ...step.labels, [LABEL_RECIPE]: context.recipe.name, [LABEL_RECIPE_STEP]: context.step.id, [LABEL_RECIPE_INPUTS]: inputs },
    onOutput: (line) => deps.reporter({ type: 'image.build.output', image: context.step.id, line }),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  deps.reporter({ type: 'image.build.done', image: context.step.id, tag: reference, cached: false });
  return { status: 'done', image: reference, detail: reference };
}
