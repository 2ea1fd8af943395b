/**
 * Helper images live in `images/<name>/` (a Dockerfile and its files). Files every image
 * needs (the caller guard) live once in `images/shared/` and are added to each image's
 * build context. Each image is tagged by the hash of its context and its base image, plus
 * `latest`, so an unchanged image is never rebuilt and a changed one is never mistaken for
 * the old one.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import type { DtoolConfig } from '../config.js';
import type { DockerPort } from '../docker/port.js';
import { LABEL_IMAGE, LABEL_IMAGE_HASH } from '../docker/labels.js';
import { NotFoundError } from '../errors.js';
import type { Reporter } from '../events.js';
import { listTree } from '../host/file-tree.js';

export interface BuiltImage {
  readonly name: string;
  readonly reference: string;
  readonly hash: string;
  readonly cached: boolean;
}

/** Not an image: files added at the root of every image's build context. */
export const SHARED_DIR = 'shared';

async function listFiles(dir: string): Promise<string[]> {
  return (await listTree(dir)).map((file) => join(dir, file));
}

/** A file of the build context: its path inside the context, and where it is on disk. */
interface ContextFile {
  readonly name: string;
  readonly path: string;
}

export class ImageCatalog {
  readonly #ensured = new Map<string, Promise<BuiltImage>>();

  constructor(
    private readonly docker: DockerPort,
    private readonly config: DtoolConfig,
    private readonly reporter: Reporter,
  ) {}

  async names(): Promise<string[]> {
    const entries = await readdir(this.config.imagesDir, { withFileTypes: true });
    const names: string[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name === SHARED_DIR) continue;
      const dockerfile = await stat(join(this.config.imagesDir, entry.name, 'Dockerfile')).catch(() => undefined);
      if (dockerfile?.isFile()) names.push(entry.name);
    }
    return names.sort();
  }

  #dir(name: string): string {
    return join(this.config.imagesDir, name);
  }

  /** The image's own files, then the shared ones (which an image's own file of the same name overrides). */
  async #contextFiles(name: string): Promise<ContextFile[]> {
    const dir = this.#dir(name);
    if (name === SHARED_DIR) throw new NotFoundError(`${SHARED_DIR} is not a helper image`);
    const own = await listFiles(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new NotFoundError(`no helper image named ${name} (looked in ${this.config.imagesDir})`);
      throw error;
    });
    const sharedDir = this.#dir(SHARED_DIR);
    const shared = await listFiles(sharedDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    const files = own.map((path) => ({ name: relative(dir, path), path }));
    for (const path of shared) {
      const fileName = relative(sharedDir, path);
      if (!files.some((f) => f.name === fileName)) files.push({ name: fileName, path });
    }
    return files;
  }

  /** Hash of every context file (path, executable bit, bytes) and of the base image's ID. */
  async contentHash(name: string): Promise<string> {
    const hash = createHash('sha256');
    for (const file of await this.#contextFiles(name)) {
      const { mode } = await stat(file.path);
      hash.update(`${file.name}\0${mode & 0o111 ? 'x' : '-'}\0`);
      hash.update(await readFile(file.path));
      hash.update('\0');
    }
    const base = await this.docker.inspectImage(this.config.baseImage);
    hash.update(`base\0${this.config.baseImage}\0${base?.id ?? 'absent'}`);
    return hash.digest('hex').slice(0, 12);
  }

  reference(name: string, tag: string): string {
    return `${this.config.imagePrefix}/${name}:${tag}`;
  }

  /** The image for `name`, built first if its current content has no image yet. Memoized per catalog. */
  ensure(name: string): Promise<BuiltImage> {
    let pending = this.#ensured.get(name);
    if (!pending) {
      pending = this.build(name);
      pending.catch(() => this.#ensured.delete(name));
      this.#ensured.set(name, pending);
    }
    return pending;
  }

  async build(name: string, options: { readonly force?: boolean; readonly signal?: AbortSignal } = {}): Promise<BuiltImage> {
    const hash = await this.contentHash(name);
    const reference = this.reference(name, hash);
    if (!options.force && (await this.docker.inspectImage(reference))) {
      return { name, reference, hash, cached: true };
    }
    this.reporter({ type: 'image.build.start', image: name, tag: reference });
    const files = await this.#contextFiles(name);
    const tar = await import('tar-fs');
    const context = tar.pack(this.config.imagesDir, {
      entries: files.map((f) => relative(this.config.imagesDir, f.path)),
      // Each file sits in the context under its name there, not its path under images/.
      map: (header) => ({ ...header, name: files.find((f) => relative(this.config.imagesDir, f.path) === header.name)?.name ?? header.name }),
    });
    await this.docker.buildImage(context as unknown as Readable, {
      tags: [reference, this.reference(name, 'latest')],
      buildArgs: { BASE: this.config.baseImage },
      labels: { [LABEL_IMAGE]: name, [LABEL_IMAGE_HASH]: hash },
      onOutput: (line) => this.reporter({ type: 'image.build.output', image: name, line }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    this.reporter({ type: 'image.build.done', image: name, tag: reference, cached: false });
    return { name, reference, hash, cached: false };
  }
}
