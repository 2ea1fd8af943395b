/**
 * `dtool build-install`: build an image whose product is a file or a folder, and install
 * that product on this machine. The image is built on the host engine (`--via host`, no
 * privilege) or inside DinD (`--via dind`, `--allow privileged`); a container is created
 * from it and never started, and the artifact is copied out through the archive API. No
 * system folder is ever bind-mounted into a build or a run (the seed's `-v /usr/sbin:/mnt`).
 *
 * Placing it is atomic: the artifact lands in a staging folder inside HOST_DIR (same
 * filesystem), is fsynced and renamed over the final name. An existing file with other
 * content is refused unless `--force`, which keeps it as NAME.dtool-prev.
 */
import { createHash } from 'node:crypto';
import { chmod, link, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Deps } from '../../deps.js';
import { helperLabels } from '../../docker/labels.js';
import { DtoolError, NotFoundError, UsageError } from '../../errors.js';
import { fsyncPath } from '../../host/atomic-file.js';
import { fileSha256, hashPath } from '../../host/file-tree.js';
import { extractArchive } from '../../host/tar.js';
import { ensureWritableDir } from '../../host/writable-dir.js';
import { newRunId } from '../../run/helper-container.js';
import { DTOOL_VERSION } from '../../version.js';
import { baseImages } from '../../core/dockerfile.js';
import { assertGranted } from '../../core/privileges.js';
import { checkStorageDriver, parseBuildArgs, seedImages, withDind } from './build.js';
import { packBuildContext, readBuildContext, type BuildContext } from './build-context.js';
import { DIND_PRIVILEGES, dindSpec } from './dind-spec.js';

export interface RawBuildInstallOptions {
  readonly artifact?: string;
  readonly to?: string;
  readonly via?: string;
  readonly mode?: string;
  readonly force?: boolean;
  readonly file?: string;
  readonly buildArg?: readonly string[];
}

export interface BuildInstallParams {
  readonly context: string;
  readonly dockerfile: string;
  readonly artifact: string;
  readonly to: string;
  readonly via: 'host' | 'dind';
  readonly mode?: number;
  readonly force: boolean;
  readonly buildArgs: Readonly<Record<string, string>>;
}

export function parseBuildInstallParams(context: string | undefined, raw: RawBuildInstallOptions, cwd: string): BuildInstallParams {
  if (!context) throw new UsageError('give the build context folder: dtool build-install CONTEXT --artifact PATH --to DIR');
  if (!raw.artifact || !posix.isAbsolute(raw.artifact) || posix.normalize(raw.artifact) === '/') {
    throw new UsageError('--artifact must be an absolute path in the image, e.g. /usr/local/bin/tool');
  }
  if (!raw.to) throw new UsageError('--to DIR is required: the folder on this machine the artifact goes into');
  const via = raw.via ?? 'host';
  if (via !== 'host' && via !== 'dind') throw new UsageError(`--via must be host or dind, not "${via}"`);
  let mode: number | undefined;
  if (raw.mode !== undefined) {
    if (!/^0?[0-7]{3,4}$/.test(raw.mode)) throw new UsageError(`--mode expects octal permissions such as 0755, not "${raw.mode}"`);
    mode = Number.parseInt(raw.mode, 8);
  }
  return {
    context: resolve(cwd, context),
    dockerfile: raw.file ?? 'Dockerfile',
    artifact: posix.normalize(raw.artifact).replace(/\/$/, ''),
    to: resolve(cwd, raw.to),
    via,
    ...(mode !== undefined ? { mode } : {}),
    force: raw.force ?? false,
    buildArgs: parseBuildArgs(raw.buildArg ?? []),
  };
}

export interface BuildInstallReport {
  readonly path: string;
  /** `unchanged`: the same content was there already. `replaced`: the old one is kept as `previous`. */
  readonly status: 'installed' | 'unchanged' | 'replaced';
  readonly kind: 'file' | 'folder';
  readonly bytes: number;
  readonly sha256: string;
  readonly image: string;
  readonly imageId: string;
  readonly via: 'host' | 'dind';
  readonly previous?: string;
  readonly seconds: number;
}

const PREVIOUS_SUFFIX = '.dtool-prev';

/** Bytes of a file, or of every file in a folder. */
async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

async function buildOnHost(deps: Deps, context: BuildContext, tag: string, buildArgs: Readonly<Record<string, string>>): Promise<string> {
  return deps.docker.buildImage(await packBuildContext(context), {
    tags: [tag],
    dockerfile: context.dockerfile,
    buildArgs,
    labels: { 'dtool.build-install': 'true' },
    onOutput: (line) => deps.reporter({ type: 'image.build.output', image: tag, line }),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
}

/** The artifact as a tar, from a container created from the image and never started (removed after). */
async function copyOutOnHost(deps: Deps, image: string, artifact: string, into: string): Promise<void> {
  const runId = newRunId();
  const id = await deps.docker.createContainer({
    name: `dtool-build-install-${runId}`,
    Image: image,
    // Never run: a command is only needed because images without one cannot be created.
    Cmd: ['/dtool-never-started'],
    Labels: helperLabels('build-install', runId, DTOOL_VERSION, deps.owner),
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    await extractArchive(await artifactArchive(() => deps.docker.getArchive(id, artifact), artifact, image), into, { keepTop: true });
  } finally {
    await deps.docker.removeContainer(id);
  }
}

async function artifactArchive(open: () => Promise<Readable>, artifact: string, image: string): Promise<Readable> {
  try {
    return await open();
  } catch (error) {
    if (error instanceof NotFoundError) throw new NotFoundError(`${artifact} does not exist in the image ${image}`, { cause: error });
    throw error;
  }
}

export async function buildInstall(deps: Deps, params: BuildInstallParams): Promise<BuildInstallReport> {
  const started = Date.now();
  if (!(await stat(params.context).catch(() => undefined))?.isDirectory()) throw new NotFoundError(`build context ${params.context} is not a folder`);
  const context = await readBuildContext(params.context, params.dockerfile);
  if (!(await stat(params.to).catch(() => undefined))?.isDirectory()) throw new UsageError(`--to: folder ${params.to} does not exist`);
  await ensureWritableDir(params.to, '--to');
  if (params.via === 'dind') assertGranted({ helper: 'dind', privileges: DIND_PRIVILEGES }, new Set(deps.config.grants));

  const name = basename(params.artifact);
  const tag = `dtool-build-install/${name.toLowerCase().replace(/[^a-z0-9_.-]/g, '-')}:${createHash('sha256').update(params.context).digest('hex').slice(0, 12)}`;
  const staging = await mkdtemp(join(params.to, '.dtool-install-'));
  try {
    let imageId: string;
    if (params.via === 'host') {
      const bases = baseImages(context.dockerfileText, params.buildArgs).images;
      for (const base of bases) {
        if (!(await deps.docker.inspectImage(base)))
          throw new NotFoundError(`base image ${base} is not on this engine`, { hint: 'dtool never pulls: build or load it first' });
      }
      imageId = await buildOnHost(deps, context, tag, params.buildArgs);
      await copyOutOnHost(deps, tag, params.artifact, staging);
    } else {
      const spec = await dindSpec(deps, undefined, params.context);
      imageId = await withDind(deps, spec, async (inner) => {
        await checkStorageDriver(deps, inner, []);
        await seedImages(deps, inner, baseImages(context.dockerfileText, params.buildArgs).images);
        const built = await inner.build(
          await packBuildContext(context),
          { tag, dockerfile: context.dockerfile, buildArgs: params.buildArgs, noCache: false },
          (line) => deps.reporter({ type: 'image.build.output', image: tag, line }),
        );
        const copy = await inner.copyOut(tag, params.artifact);
        const [extracted, copied] = await Promise.allSettled([extractArchive(copy.tar, staging, { keepTop: true }), copy.done]);
        if (copied.status === 'rejected') {
          const error = copied.reason as DtoolError;
          if (/could not find|no such file/i.test([error.message, ...(error.details ?? [])].join('\n'))) {
            throw new NotFoundError(`${params.artifact} does not exist in the image ${tag}`, { cause: error });
          }
          throw error;
        }
        if (extracted.status === 'rejected') throw extracted.reason;
        return built.imageId;
      });
    }
    return {
      ...(await place(join(staging, name), join(params.to, name), params)),
      image: tag,
      imageId,
      via: params.via,
      seconds: Math.round((Date.now() - started) / 10) / 100,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Moves the staged artifact to `dest` atomically, refusing to overwrite different content without --force. */
async function place(
  staged: string,
  dest: string,
  params: BuildInstallParams,
): Promise<Pick<BuildInstallReport, 'path' | 'status' | 'kind' | 'bytes' | 'sha256' | 'previous'>> {
  const info = await stat(staged).catch(() => undefined);
  if (!info) throw new NotFoundError(`${params.artifact} came out of the image empty`);
  const kind = info.isDirectory() ? 'folder' : 'file';
  if (params.mode !== undefined) await chmod(staged, params.mode);
  if (kind === 'file') await fsyncPath(staged);
  // A file's is what sha256sum prints; a folder's covers its files' names, modes and bytes.
  const digest = (path: string) => (kind === 'file' ? fileSha256(path) : hashPath(path));
  const sha256 = await digest(staged);
  const bytes = await sizeOf(staged);
  const existing = await stat(dest).catch(() => undefined);
  const base = { path: dest, kind, bytes, sha256 } as const;
  if (existing) {
    const existingHash = existing.isDirectory() === (kind === 'folder') ? await digest(dest) : '';
    if (existingHash === sha256) {
      if (params.mode !== undefined) await chmod(dest, params.mode);
      return { ...base, status: 'unchanged' };
    }
    if (!params.force) {
      throw new DtoolError(
        'CONFLICT',
        `refusing to overwrite ${dest}: its content differs from the artifact (sha256 ${existingHash.slice(0, 12)} there, ${sha256.slice(0, 12)} built)`,
        {
          hint: `--force replaces it and keeps the old one as ${basename(dest)}${PREVIOUS_SUFFIX}`,
        },
      );
    }
    const previous = `${dest}${PREVIOUS_SUFFIX}`;
    await rm(previous, { recursive: true, force: true });
    if (kind === 'file' && existing.isFile()) {
      // A hard link keeps the old file while the rename swaps the name in one step.
      await link(dest, previous);
      await rename(staged, dest);
    } else {
      await rename(dest, previous);
      await rename(staged, dest);
    }
    await fsyncPath(resolve(dest, '..'));
    return { ...base, status: 'replaced', previous };
  }
  await rename(staged, dest);
  await fsyncPath(resolve(dest, '..'));
  return { ...base, status: 'installed' };
}
