/**
 * `dtool restore`: load a dtool backup (plain, gzip or zstd SQL, or a mydumper tarball)
 * into a running server. The manifest's sha256 is checked first when the manifest is there.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Deps } from '../../deps.js';
import { NotFoundError, UsageError, VerifyFailedError } from '../../errors.js';
import type { HelperMount, HelperNetwork, HelperRunSpec } from '../types.js';
import { MYSQL_TOOLS_IMAGE, asHostUser, clientCnfFor, readCredentialsFile, runMysqlTool } from './common.js';
import { lastJsonLine } from './helper-errors.js';
import { MANIFEST_SUFFIX } from './naming.js';
import { parseLink, resolveTarget, type LinkSpec } from './target.js';
import type { BackupManifest } from './backup.js';

export interface RestoreParams {
  readonly link: LinkSpec;
  readonly from: string;
  readonly credentialsFile: string;
  /** Restore even when no manifest vouches for the file. */
  readonly allowUnverified: boolean;
}

/** What the CLI (or a library user) hands in, unvalidated. */
export interface RawRestoreOptions {
  readonly link?: string;
  readonly from?: string;
  readonly credentials?: string;
  readonly force?: boolean;
}

export function parseRestoreParams(raw: RawRestoreOptions, cwd: string): RestoreParams {
  if (!raw.link) throw new UsageError('--link CONTAINER is required');
  if (!raw.from) throw new UsageError('--from FILE is required');
  if (!raw.credentials) throw new UsageError('--credentials FILE is required');
  return {
    link: parseLink(raw.link),
    from: resolve(cwd, raw.from),
    credentialsFile: resolve(cwd, raw.credentials),
    allowUnverified: raw.force ?? false,
  };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

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

const RESTORE_MOUNT = '/restore';
const SCRATCH_MOUNT = '/scratch';

export function restoreHelperSpec(options: {
  readonly image: string;
  readonly artifactPath: string;
  readonly clientCnf: string;
  readonly network: HelperNetwork;
  readonly scratchDir?: string;
}): HelperRunSpec {
  const mounts: HelperMount[] = [
    { type: 'bind', source: options.artifactPath, target: `${RESTORE_MOUNT}/${basename(options.artifactPath)}`, readOnly: true },
  ];
  if (options.scratchDir) mounts.push({ type: 'bind', source: options.scratchDir, target: SCRATCH_MOUNT, readOnly: false });
  return {
    helper: 'mysql-restore',
    image: options.image,
    command: [
      'dtool-restore',
      '--from',
      `${RESTORE_MOUNT}/${basename(options.artifactPath)}`,
      ...(options.scratchDir ? ['--scratch', SCRATCH_MOUNT] : []),
    ],
    ...asHostUser(),
    mounts,
    secrets: [{ name: 'client.cnf', content: options.clientCnf }],
    network: options.network,
  };
}

/** Loads an artifact into the server reachable through `network` with `clientCnf`. */
export async function loadArtifact(
  deps: Deps,
  options: { readonly artifactPath: string; readonly clientCnf: string; readonly network: HelperNetwork; readonly targetName: string },
): Promise<void> {
  const { reference: image } = await deps.images.ensure(MYSQL_TOOLS_IMAGE);
  // A mydumper tarball is unpacked before myloader reads it; give it host disk, not the helper's small tmpfs.
  const isTarball = /\.tar(\.zst|\.gz)?$/.test(options.artifactPath);
  const scratchDir = isTarball ? await mkdtemp(join(tmpdir(), 'dtool-restore-')) : undefined;
  try {
    const result = await runMysqlTool(deps, restoreHelperSpec({ image, ...options, ...(scratchDir ? { scratchDir } : {}) }), options.targetName);
    lastJsonLine<{ restored: boolean }>(result.stdout, result.helper);
  } finally {
    if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
  }
}

export interface RestoreReport {
  readonly target: string;
  readonly file: string;
  readonly checkedAgainstManifest: boolean;
  readonly seconds: number;
}

export async function restore(deps: Deps, params: RestoreParams): Promise<RestoreReport> {
  const started = deps.clock.now().getTime();
  const manifest = await checkAgainstManifest(params.from);
  if (!manifest && !params.allowUnverified) {
    throw new VerifyFailedError(`${basename(params.from)} has no manifest, so its integrity cannot be checked`, {
      hint: 'restore it anyway with --force',
    });
  }
  const credentials = await readCredentialsFile(params.credentialsFile);
  const target = await resolveTarget(deps.docker, params.link);
  await loadArtifact(deps, {
    artifactPath: params.from,
    clientCnf: clientCnfFor(credentials, target.host),
    network: target.network,
    targetName: target.name,
  });
  return {
    target: target.name,
    file: params.from,
    checkedAgainstManifest: manifest !== undefined,
    seconds: (deps.clock.now().getTime() - started) / 1000,
  };
}
