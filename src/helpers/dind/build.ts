/**
 * `dtool dind build`: an image built inside Docker-in-Docker (Debian's docker.io) and
 * saved to a tar on this machine, with no registry anywhere:
 *
 *  1. everything that can be checked is checked before a container starts: the context
 *     and its Dockerfile, the output folder, the `privileged` grant;
 *  2. the DinD helper starts on a named cache volume (one per context by default), or an
 *     anonymous one with `--no-cache`;
 *  3. each `FROM` image (stages and ARG defaults resolved) the inner daemon lacks is copied
 *     in from the host engine, streaming save → load; one that neither has is an error
 *     before the build;
 *  4. the context is streamed in (honouring .dockerignore) and built;
 *  5. the image is streamed out to FILE atomically (temp, fsync, rename, fsync of the
 *     folder), with a manifest beside it; `--load` loads it into the host engine and checks
 *     that the image ID is the one built.
 *
 * The DinD container and its anonymous volumes go whatever happens (the helper lifecycle).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { baseImages } from '../../core/dockerfile.js';
import type { HelperRunSpec } from '../../core/helper-spec.js';
import { assertGranted } from '../../core/privileges.js';
import type { Deps } from '../../deps.js';
import { AbortedError, NotFoundError, UsageError, VerifyFailedError } from '../../errors.js';
import { writeFileAtomic, writeStreamAtomic } from '../../host/atomic-file.js';
import { acquireLock, lockHolder } from '../../host/lock.js';
import { defaultStateDir } from '../../host/state-dir.js';
import { ensureWritableDir } from '../../host/writable-dir.js';
import { startService } from '../../run/service.js';
import { packBuildContext, readBuildContext } from './build-context.js';
import { DIND_PRIVILEGES, DIND_READY, dindSpec } from './dind-spec.js';
import { InnerDaemon } from './inner-daemon.js';

export interface RawDindBuildOptions {
  readonly tag?: string;
  readonly out?: string;
  readonly file?: string;
  readonly seedImage?: readonly string[];
  readonly buildArg?: readonly string[];
  readonly load?: boolean;
  /** A volume name, or false for `--no-cache`. */
  readonly cache?: string | boolean;
}

export interface DindBuildParams {
  readonly context: string;
  readonly dockerfile: string;
  readonly tag: string;
  readonly out: string;
  readonly seedImages: readonly string[];
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly load: boolean;
  /** The named volume keeping the inner daemon's layers; undefined: a throwaway one. */
  readonly cacheVolume: string | undefined;
}

const CACHE_LOCK_WAIT_MS = 30 * 60 * 1000;
const TAG = /^[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;
const VOLUME = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;

/** The default cache: one volume per context folder. */
export function defaultCacheVolume(context: string): string {
  return `dtool-dind-cache-${createHash('sha256').update(context).digest('hex').slice(0, 12)}`;
}

export function parseBuildArgs(values: readonly string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`--build-arg expects NAME=VALUE, not "${value}"`);
    args[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return args;
}

export function parseDindBuildParams(context: string | undefined, raw: RawDindBuildOptions, cwd: string): DindBuildParams {
  if (!context) throw new UsageError('give the build context folder: dtool dind build CONTEXT --tag T --out FILE.tar');
  if (!raw.tag) throw new UsageError('--tag is required: the name the image gets, e.g. app:1.0');
  if (!TAG.test(raw.tag)) throw new UsageError(`--tag "${raw.tag}" is not an image name (lower case, e.g. app:1.0)`);
  if (!raw.out) throw new UsageError('--out FILE.tar is required: where the image tar is written');
  const contextDir = resolve(cwd, context);
  if (typeof raw.cache === 'string' && !VOLUME.test(raw.cache)) throw new UsageError(`--cache "${raw.cache}" is not a volume name`);
  return {
    context: contextDir,
    dockerfile: raw.file ?? 'Dockerfile',
    tag: raw.tag.includes(':') ? raw.tag : `${raw.tag}:latest`,
    out: resolve(cwd, raw.out),
    seedImages: raw.seedImage ?? [],
    buildArgs: parseBuildArgs(raw.buildArg ?? []),
    load: raw.load ?? false,
    cacheVolume: raw.cache === false ? undefined : typeof raw.cache === 'string' ? raw.cache : defaultCacheVolume(contextDir),
  };
}

export interface SeededImage {
  readonly image: string;
  /** `host`: copied from the host engine; `cache`: the inner daemon had it already. */
  readonly from: 'host' | 'cache';
  readonly seconds: number;
}

export interface DindBuildReport {
  readonly tag: string;
  readonly imageId: string;
  readonly out: string;
  readonly manifest: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly steps: number;
  readonly cachedSteps: number;
  readonly seeded: readonly SeededImage[];
  readonly cacheVolume: string | null;
  readonly storageDriver: string;
  readonly loaded: boolean;
  readonly warnings: readonly string[];
  readonly seconds: number;
}

/** Checks made before any container starts. */
async function preflight(deps: Deps, params: DindBuildParams) {
  if (!(await stat(params.context).catch(() => undefined))?.isDirectory()) throw new NotFoundError(`build context ${params.context} is not a folder`);
  const context = await readBuildContext(params.context, params.dockerfile);
  const outDir = dirname(params.out);
  if (!(await stat(outDir).catch(() => undefined))?.isDirectory()) throw new UsageError(`--out: folder ${outDir} does not exist`);
  await ensureWritableDir(outDir, '--out');
  if ((await stat(params.out).catch(() => undefined))?.isDirectory()) throw new UsageError(`--out ${params.out} is a folder; give a file name`);
  assertGranted({ helper: 'dind', privileges: DIND_PRIVILEGES }, new Set(deps.config.grants));
  const bases = baseImages(context.dockerfileText, params.buildArgs);
  if (bases.unresolved.length) throw new UsageError(`FROM has no image after build arguments: ${bases.unresolved[0]}`);
  const spec = await dindSpec(deps, params.cacheVolume, params.context);
  return { context, spec, images: [...new Set([...bases.images, ...params.seedImages])] };
}

/** One inner daemon per cache volume at a time; another build of the same context waits its turn. */
async function lockCache(deps: Deps, volume: string, lockDir = defaultStateDir(process.env, 'dind')) {
  await mkdir(lockDir, { recursive: true });
  const path = join(lockDir, `${volume}.lock`);
  const held = await lockHolder(path);
  if (held) deps.reporter({ type: 'info', message: `waiting for the DinD cache ${volume}: another build uses it (pid ${held.pid ?? '?'})` });
  return acquireLock(path, `the DinD cache ${volume}`, { waitMs: CACHE_LOCK_WAIT_MS, ...(deps.signal ? { signal: deps.signal } : {}) });
}

/** overlay2, or a loud warning: a vfs fallback copies every layer in full. */
export async function checkStorageDriver(deps: Deps, inner: InnerDaemon, warnings: string[]): Promise<string> {
  const storageDriver = await inner.storageDriver();
  if (storageDriver !== 'overlay2') {
    const warning = `the inner daemon uses the ${storageDriver} storage driver, not overlay2: builds are slow and the cache large`;
    warnings.push(warning);
    deps.reporter({ type: 'warning', message: warning });
  }
  return storageDriver;
}

/** Copies into the inner daemon what it lacks, from the host engine; an image neither has is an error naming it. */
export async function seedImages(deps: Deps, inner: InnerDaemon, images: readonly string[]): Promise<SeededImage[]> {
  const seeded: SeededImage[] = [];
  for (const image of images) {
    const started = Date.now();
    if (await inner.imageId(image)) {
      seeded.push({ image, from: 'cache', seconds: 0 });
      continue;
    }
    if (!(await deps.docker.inspectImage(image))) {
      throw new NotFoundError(`base image ${image} is neither on this engine nor in the DinD cache`, {
        hint: 'dtool never pulls: build or load it on this engine first, or pass it with --seed-image',
      });
    }
    await inner.load(await deps.docker.saveImage(image));
    seeded.push({ image, from: 'host', seconds: Math.round((Date.now() - started) / 10) / 100 });
  }
  return seeded;
}

export interface DindBuildOptions {
  /** Where the cache volumes' locks live: two inner daemons on one data root would corrupt it. */
  readonly lockDir?: string;
}

export async function dindBuild(deps: Deps, params: DindBuildParams, options: DindBuildOptions = {}): Promise<DindBuildReport> {
  const started = Date.now();
  const { context, spec, images } = await preflight(deps, params);
  await using _cacheLock = params.cacheVolume ? await lockCache(deps, params.cacheVolume, options.lockDir) : undefined;

  // Awaited here, not returned: the cache lock must be held until the build has ended.
  return await withDind(deps, spec, (inner) => buildInside(deps, params, inner, context, images, started));
}

/**
 * Runs `work` against a started DinD helper and removes the helper afterwards, whatever
 * happens. Ctrl-C kills it at once: that ends every stream through it.
 */
export async function withDind<T>(deps: Deps, spec: HelperRunSpec, work: (inner: InnerDaemon) => Promise<T>): Promise<T> {
  await using dind = await startService(deps, spec, { logMatches: DIND_READY, timeoutMs: 120_000 });
  const stop = () => void deps.docker.killContainer(dind.details.id, 'SIGKILL').catch(() => {});
  deps.signal?.addEventListener('abort', stop, { once: true });
  try {
    return await work(new InnerDaemon(deps, dind.details.id));
  } catch (error) {
    if (deps.signal?.aborted) throw new AbortedError('interrupted; the DinD container and its volumes were removed', { cause: error });
    throw error;
  } finally {
    deps.signal?.removeEventListener('abort', stop);
  }
}

async function buildInside(
  deps: Deps,
  params: DindBuildParams,
  inner: InnerDaemon,
  context: Awaited<ReturnType<typeof readBuildContext>>,
  images: readonly string[],
  started: number,
): Promise<DindBuildReport> {
  const warnings: string[] = [];
  const storageDriver = await checkStorageDriver(deps, inner, warnings);
  const seeded = await seedImages(deps, inner, images);
  const built = await inner.build(
    await packBuildContext(context),
    { tag: params.tag, dockerfile: context.dockerfile, buildArgs: params.buildArgs, noCache: params.cacheVolume === undefined },
    (line) => deps.reporter({ type: 'image.build.output', image: params.tag, line }),
  );

  const saved = await inner.save(params.tag);
  const written = await writeStreamAtomic(params.out, saved.tar, deps.signal ? { signal: deps.signal } : {});
  await saved.done;
  const manifest = `${params.out}.json`;
  await writeFileAtomic(
    manifest,
    `${JSON.stringify({ file: basename(params.out), bytes: written.bytes, sha256: written.sha256, image: params.tag, imageId: built.imageId, builtAt: new Date().toISOString() }, null, 2)}\n`,
  );

  let loaded = false;
  if (params.load) {
    await deps.docker.loadImage(createReadStream(params.out));
    const onHost = await deps.docker.inspectImage(params.tag);
    if (onHost?.id !== built.imageId) {
      throw new VerifyFailedError(`loaded ${params.tag} on this engine as ${onHost?.id ?? 'nothing'}, but the build made ${built.imageId}`);
    }
    loaded = true;
  }
  return {
    tag: params.tag,
    imageId: built.imageId,
    out: params.out,
    manifest,
    bytes: written.bytes,
    sha256: written.sha256,
    steps: built.steps,
    cachedSteps: built.cachedSteps,
    seeded,
    cacheVolume: params.cacheVolume ?? null,
    storageDriver,
    loaded,
    warnings,
    seconds: Math.round((Date.now() - started) / 10) / 100,
  };
}
