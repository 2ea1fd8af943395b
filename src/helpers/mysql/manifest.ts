/**
 * A backup's manifest: written last, beside its artifact, it is what makes the artifact
 * count. Retention keeps only artifacts that have one; restore checks the file against it.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { HelperRunSpec } from '../../core/helper-spec.js';
import type { Deps } from '../../deps.js';
import { DtoolError, NotFoundError, VerifyFailedError } from '../../errors.js';
import { fileSha256 } from '../../host/file-tree.js';
import { MYSQL_TOOLS_IMAGE, asHostUser, runMysqlTool } from './common.js';
import { lastJsonLine } from './helper-errors.js';
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

/**
 * Judges an artifact's size and sha256 against its manifest's text: the manifest when they
 * match, undefined when there is no (readable) manifest, VerifyFailedError otherwise. Pure.
 */
export function judgeAgainstManifest(
  file: string,
  actual: { readonly bytes: number; readonly sha256: string },
  manifestText: string | undefined,
): BackupManifest | undefined {
  if (manifestText === undefined) return undefined;
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(manifestText) as BackupManifest;
  } catch {
    return undefined;
  }
  if (manifest.bytes !== actual.bytes) {
    throw new VerifyFailedError(`${file} is ${actual.bytes} bytes; its manifest says ${manifest.bytes}`);
  }
  if (actual.sha256 !== manifest.sha256) {
    throw new VerifyFailedError(`${file} does not match its manifest's sha256 (file changed or corrupt)`);
  }
  return manifest;
}

/** Checks a local artifact against its manifest; returns the manifest, or undefined when there is none. */
export async function checkAgainstManifest(artifactPath: string): Promise<BackupManifest | undefined> {
  const size = await stat(artifactPath).then(
    (s) => s.size,
    () => {
      throw new NotFoundError(`backup file ${artifactPath} does not exist`);
    },
  );
  const manifestText = await readFile(`${artifactPath}${MANIFEST_SUFFIX}`, 'utf8').catch(() => undefined);
  if (manifestText === undefined) return undefined;
  return judgeAgainstManifest(basename(artifactPath), { bytes: size, sha256: await sha256File(artifactPath) }, manifestText);
}

/** What `dtool-outdir check` prints about an artifact on the engine's host. */
export interface ArtifactCheck {
  readonly exists: boolean;
  readonly bytes?: number;
  readonly sha256?: string;
  /** The manifest's text, base64. */
  readonly manifest?: string | null;
}

export function checkSpec(image: string, artifactPath: string): HelperRunSpec {
  return {
    helper: 'mysql-check',
    image,
    command: ['dtool-outdir', 'check', `/in/${basename(artifactPath)}`],
    ...asHostUser(),
    mounts: [{ type: 'bind', source: dirname(artifactPath), target: '/in', readOnly: true }],
    network: { mode: 'none' },
  };
}

/**
 * checkAgainstManifest where the artifact is: on the engine's host (a remote engine's
 * files are not this machine's), hashed by a helper that mounts its folder read-only.
 */
export async function checkAgainstManifestOnEngine(deps: Deps, artifactPath: string): Promise<BackupManifest | undefined> {
  const missing = () => new NotFoundError(`backup file ${artifactPath} does not exist on the engine's host`);
  const { reference: image } = await deps.images.ensure(MYSQL_TOOLS_IMAGE);
  let check: ArtifactCheck;
  try {
    const result = await runMysqlTool(deps, checkSpec(image, artifactPath), basename(artifactPath));
    check = lastJsonLine<ArtifactCheck>(result.stdout, result.helper);
  } catch (error) {
    // The engine refuses to mount a folder that does not exist.
    if (error instanceof DtoolError && /bind source path does not exist/.test(error.message)) throw missing();
    throw error;
  }
  if (!check.exists || check.bytes === undefined || check.sha256 === undefined) throw missing();
  const manifestText = check.manifest ? Buffer.from(check.manifest, 'base64').toString('utf8') : undefined;
  return judgeAgainstManifest(basename(artifactPath), { bytes: check.bytes, sha256: check.sha256 }, manifestText);
}
