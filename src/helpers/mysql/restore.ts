/**
 * `dtool restore`: load a dtool backup (plain, gzip or zstd SQL, or a mydumper tarball)
 * into a running server. The manifest's sha256 is checked first when the manifest is there,
 * by a helper on the engine's host, where the file is.
 */
import { basename, resolve } from 'node:path';
import type { Deps } from '../../deps.js';
import { UsageError, VerifyFailedError } from '../../errors.js';
import { clientCnfFor, readCredentialsFile } from './common.js';
import { loadArtifact } from './load-artifact.js';
import { checkAgainstManifestOnEngine } from './manifest.js';
import { parseLink, resolveTarget, type LinkSpec } from './target.js';

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

export interface RestoreReport {
  readonly target: string;
  readonly file: string;
  readonly checkedAgainstManifest: boolean;
  readonly seconds: number;
}

export async function restore(deps: Deps, params: RestoreParams): Promise<RestoreReport> {
  const started = deps.clock.now().getTime();
  // The cheap checks first; then --from, a file on the engine's host (like --out), is checked there.
  const target = await resolveTarget(deps.docker, params.link);
  const credentials = await readCredentialsFile(params.credentialsFile);
  const manifest = await checkAgainstManifestOnEngine(deps, params.from);
  if (!manifest && !params.allowUnverified) {
    throw new VerifyFailedError(`${basename(params.from)} has no manifest, so its integrity cannot be checked`, {
      hint: 'restore it anyway with --force',
    });
  }
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
