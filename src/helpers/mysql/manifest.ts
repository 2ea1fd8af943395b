/**
 * A backup's manifest: written last, beside its artifact, it is what makes the artifact
 * count. Retention keeps only artifacts that have one; restore checks the file against it.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { NotFoundError, VerifyFailedError } from '../../errors.js';
import { fileSha256 } from '../../host/file-tree.js';
import { MANIFEST_SUFFIX, type Compression, type DumpEngine } from './naming.js';

export interface BackupManifest {
  readonly format: 'dtool-backup/1';
  readonly target: string;
  readonly container: string;
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly engine: DumpEngine;
  readonly compression: Compression;
  readonly databases: readonly string[] | 'all';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly dtoolVersion: string;
}

/** The sha256 of an artifact, as `sha256sum` prints it. */
export const sha256File = fileSha256;

/** Checks the artifact against its manifest; returns the manifest, or undefined when there is none. */
export async function checkAgainstManifest(artifactPath: string): Promise<BackupManifest | undefined> {
  const size = await stat(artifactPath).then(
    (s) => s.size,
    () => {
      throw new NotFoundError(`backup file ${artifactPath} does not exist`);
    },
  );
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(`${artifactPath}${MANIFEST_SUFFIX}`, 'utf8')) as BackupManifest;
  } catch {
    return undefined;
  }
  if (manifest.bytes !== size) {
    throw new VerifyFailedError(`${basename(artifactPath)} is ${size} bytes; its manifest says ${manifest.bytes}`);
  }
  const actual = await sha256File(artifactPath);
  if (actual !== manifest.sha256) {
    throw new VerifyFailedError(`${basename(artifactPath)} does not match its manifest's sha256 (file changed or corrupt)`);
  }
  return manifest;
}
