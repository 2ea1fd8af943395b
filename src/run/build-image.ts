/**
 * Helper images live in `images/<name>/` (a Dockerfile and its files). Each is tagged by
 * the hash of its folder's content and its base image, plus `latest`, so an unchanged
 * image is never rebuilt and a changed one is never mistaken for the old one.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar-fs';
import type { DtoolConfig } from '../config.js';
import type { DockerPort } from '../docker/port.js';
import { LABEL_IMAGE, LABEL_IMAGE_HASH } from '../docker/labels.js';
import { NotFoundError } from '../errors.js';
import type { Reporter } from '../events.js';

export interface BuiltImage {
  readonly name: string;
  readonly reference: string;
  readonly hash: string;
  readonly cached: boolean;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
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
      if (!entry.isDirectory()) continue;
      const dockerfile = await stat(join(this.config.imagesDir, entry.name, 'Dockerfile')).catch(() => undefined);
      if (dockerfile?.isFile()) names.push(entry.name);
    }
    return names.sort();
  }

  #dir(name: string): string {
    return join(this.config.imagesDir, name);
  }

  /** Hash of every file (path, executable bit, bytes) in the image's folder and of the base image's ID. */
  async contentHash(name: string): Promise<string> {
    const dir = this.#dir(name);
    const files = await listFiles(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new NotFoundError(`no helper image named ${name} (looked in ${this.config.imagesDir})`);
      throw error;
    });
    const hash = createHash('sha256');
    for (const file of files) {
      const { mode } = await stat(file);
      hash.update(`${relative(dir, file)}\0${mode & 0o111 ? 'x' : '-'}\0`);
      hash.update(await readFile(file));
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
    await this.docker.buildImage(tar.pack(this.#dir(name)) as unknown as Readable, {
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
