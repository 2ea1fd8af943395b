/**
 * `dtool backup`: consistent dumps of MariaDB/MySQL containers, written by the helper into
 * the output folder, verified, then committed atomically with a manifest.
 *
 * `--out` is a folder on the engine's host (as with `docker run -v`), so every step that
 * touches it (lock, leftovers, naming, commit, manifest, retention) runs in the outdir
 * session helper (outdir.ts), never in this process: the same code serves a local engine,
 * a remote one and a swarm node. `--fetch DIR` then copies each artifact back here.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { extract } from 'tar-stream';
import type { Deps } from '../../deps.js';
import { AbortedError, DtoolError, NotFoundError, PartialFailureError, VerifyFailedError, toDtoolError } from '../../errors.js';
import { commitRename, tempPathFor, writeStreamAtomic } from '../../host/atomic-file.js';
import { ensureWritableDir } from '../../host/writable-dir.js';
import { mapConcurrent } from '../../run/concurrency.js';
import { runHelper } from '../../run/run-helper.js';
import { DTOOL_VERSION } from '../../version.js';
import type { HelperResult } from '../../core/helper-spec.js';
import { backupBatchSpec, mergeNetworks, networkKey, parseBatchReport } from './backup-batch.js';
import type { BackupParams } from './backup-params.js';
import { MYSQL_TOOLS_IMAGE, asHostUser, clientCnfFor, readCredentialsFile } from './common.js';
import type { Credentials } from './credentials.js';
import { lastJsonLine, mysqlHelperError } from './helper-errors.js';
import { MANIFEST_SUFFIX, artifactName, isLeftoverOf, parseArtifactName, tempNameFor } from './naming.js';
import { openOutDir, type OutDirSession, type TargetFolder } from './outdir.js';
import { chooseToPrune, type KnownArtifact, type RetentionPolicy } from './retention.js';
import { linksByLabel, resolveTarget, type LinkSpec, type ResolvedTarget } from './target.js';
import type { BackupManifest } from './manifest.js';
import { verifyBackup, type VerifyReport } from './verify.js';

export { parseBackupParams, type BackupParams, type RawBackupOptions } from './backup-params.js';

/** Targets finished at once when nothing but output-folder steps remain. */
const FINISH_CONCURRENCY = 8;

export interface FetchedFiles {
  /** The artifact, on this machine. */
  readonly file: string;
  readonly manifest: string;
}

export interface TargetReport {
  readonly target: string;
  readonly container: string;
  readonly status: 'ok' | 'failed';
  /** The artifact, on the engine's host. */
  readonly file?: string;
  readonly bytes?: number;
  readonly sha256?: string;
  readonly seconds: number;
  readonly verify?: VerifyReport;
  readonly pruned?: readonly string[];
  /** Temp files and scratch folders of earlier runs that died, removed once this run held the lock. */
  readonly removedLeftovers?: readonly string[];
  /** With --fetch: the copies on this machine, checked against the manifest's sha256. */
  readonly fetched?: FetchedFiles;
  /** With --swarm: the node that runs the target, where `file` is. */
  readonly node?: string;
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string; readonly details: readonly string[] };
}

export interface BackupReport {
  readonly ok: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly targets: readonly TargetReport[];
}

/** The first name `make(0)`, `make(1)`, … that is not among `taken`. Pure. */
export function nextFreeName(taken: ReadonlySet<string>, make: (sequence: number) => string): string {
  for (let sequence = 0; ; sequence++) {
    const name = make(sequence);
    if (!taken.has(name)) return name;
  }
}

/** This target's artifacts among a folder's names, each knowing whether its manifest is there. Pure. */
export function knownArtifacts(files: readonly string[], target: string): KnownArtifact[] {
  const names = new Set(files);
  const artifacts: KnownArtifact[] = [];
  for (const file of files) {
    const parsed = parseArtifactName(target, file);
    if (parsed) artifacts.push({ ...parsed, hasManifest: names.has(`${file}${MANIFEST_SUFFIX}`) });
  }
  return artifacts;
}

/** `files`: the folder's names once the new manifest is written. */
async function applyRetention(
  deps: Deps,
  folder: TargetFolder,
  files: readonly string[],
  target: string,
  policy: RetentionPolicy,
): Promise<string[]> {
  if (policy.kind === 'none') return [];
  const doomed = chooseToPrune(knownArtifacts(files, target), policy, deps.clock.now());
  await folder.remove(doomed.flatMap((a) => [a.file, `${a.file}${MANIFEST_SUFFIX}`]));
  return doomed.map((a) => a.file);
}

interface DumpResult {
  readonly bytes: number;
  readonly sha256: string;
}

/** A target resolved, locked and named, ready to be dumped. */
interface PreparedTarget {
  readonly target: ResolvedTarget;
  /** Its folder, locked until this run is done with it. */
  readonly folder: TargetFolder;
  readonly file: string;
  readonly tempName: string;
  readonly startedAt: Date;
  readonly removedLeftovers: readonly string[];
}

function failedReport(deps: Deps, name: string, container: string, startedAt: Date, caught: unknown): TargetReport {
  const error = toDtoolError(caught);
  deps.reporter({ type: 'target.done', target: name, action: 'backup', ok: false, message: error.message });
  const verify = (caught as { verify?: VerifyReport }).verify;
  return {
    target: name,
    container,
    status: 'failed',
    seconds: (deps.clock.now().getTime() - startedAt.getTime()) / 1000,
    ...(verify ? { verify } : {}),
    error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}), details: error.details },
  };
}

/**
 * Holding the target's lock proves that no other run is writing there, so any temp file or
 * scratch folder of this target is a dead run's: removed, and named in the report.
 */
async function removeLeftovers(deps: Deps, folder: TargetFolder, files: readonly string[], target: string): Promise<string[]> {
  const leftovers = files.filter((name) => isLeftoverOf(target, name));
  await folder.remove(leftovers);
  if (leftovers.length > 0) {
    deps.reporter({
      type: 'warning',
      message: `${target}: removed ${leftovers.length} temp file${leftovers.length > 1 ? 's' : ''} of an earlier run that did not finish (${leftovers.join(', ')})`,
    });
  }
  return leftovers;
}

interface ResolvedLink {
  readonly target: ResolvedTarget;
  readonly startedAt: Date;
}

async function resolveLink(deps: Deps, link: LinkSpec): Promise<ResolvedLink | TargetReport> {
  const startedAt = deps.clock.now();
  deps.reporter({ type: 'target.start', target: link.alias ?? link.container, action: 'backup' });
  try {
    if (deps.signal?.aborted) throw new AbortedError();
    return { target: await resolveTarget(deps.docker, link), startedAt };
  } catch (caught) {
    return failedReport(deps, link.alias ?? link.container, link.container, startedAt, caught);
  }
}

async function prepareTarget(
  deps: Deps,
  params: BackupParams,
  outDir: OutDirSession,
  resolved: ResolvedLink,
): Promise<PreparedTarget | TargetReport> {
  const { target, startedAt } = resolved;
  try {
    if (deps.signal?.aborted) throw new AbortedError();
    const folder = await outDir.lockTarget(target.name, {
      waitMs: params.lockWaitMs,
      what: `backups of ${target.name} in ${posix.join(params.outDir, target.name)}`,
    });
    try {
      const files = folder.files;
      const removedLeftovers = await removeLeftovers(deps, folder, files, target.name);
      const file = nextFreeName(new Set(files), (seq) => artifactName(target.name, startedAt, params.engine, params.compression, seq));
      return { target, folder, file, tempName: tempNameFor(file), startedAt, removedLeftovers };
    } catch (error) {
      await folder[Symbol.asyncDispose]();
      throw error;
    }
  } catch (caught) {
    return failedReport(deps, target.name, target.container.name, startedAt, caught);
  }
}

/**
 * Dumps a group of targets that share a network in one batch helper; returns each target's
 * own outcome. A batch that fails as a whole (aborted, timed out) fails all its targets.
 */
async function dumpGroup(
  deps: Deps,
  params: BackupParams,
  credentials: Credentials,
  image: string,
  group: readonly PreparedTarget[],
): Promise<Map<PreparedTarget, DumpResult | Error>> {
  const outcomes = new Map<PreparedTarget, DumpResult | Error>();
  const spec = backupBatchSpec(
    group.map((p) => ({
      name: p.target.name,
      targetDir: p.folder.path,
      tempName: p.tempName,
      clientCnf: clientCnfFor(credentials, p.target.host),
    })),
    {
      image,
      ...asHostUser(),
      network: mergeNetworks(group.map((p) => p.target.network)),
      parallel: params.concurrency,
      engine: params.engine,
      compression: params.compression,
      ...(params.databases ? { databases: params.databases } : {}),
      ...(params.threads !== undefined ? { threads: params.threads } : {}),
      // --timeout is per target; a batch runs its targets `concurrency` at a time.
      ...(params.timeoutMs !== undefined ? { timeoutMs: params.timeoutMs * Math.ceil(group.length / params.concurrency) } : {}),
    },
  );
  let batch: HelperResult;
  try {
    batch = await runHelper(deps, spec, { allowFailure: true });
  } catch (error) {
    for (const p of group) outcomes.set(p, toDtoolError(error));
    return outcomes;
  }
  const jobs = parseBatchReport(batch);
  for (const p of group) {
    const job = jobs.get(p.target.name);
    if (!job) {
      outcomes.set(
        p,
        batch.exitCode !== 0
          ? mysqlHelperError(batch, p.target.name)
          : new DtoolError('INTERNAL', `the batch helper did not report on ${p.target.name}`),
      );
    } else if (job.exitCode !== 0) {
      outcomes.set(p, mysqlHelperError(job, p.target.name));
    } else {
      try {
        outcomes.set(p, lastJsonLine<DumpResult>(job.stdout, job.helper));
      } catch (error) {
        outcomes.set(p, toDtoolError(error));
      }
    }
  }
  return outcomes;
}

/** The one file a (single-file) archive-API tar holds, as a stream. */
function fileOfArchive(tar: Readable): Promise<Readable> {
  const extraction = extract();
  return new Promise<Readable>((resolve, reject) => {
    let found = false;
    extraction.on('entry', (header, stream, next) => {
      stream.on('end', next);
      if (!found && header.type === 'file') {
        found = true;
        resolve(stream as unknown as Readable);
      } else {
        stream.resume();
      }
    });
    extraction.on('finish', () => {
      if (!found) reject(new DtoolError('INTERNAL', 'the archive held no file'));
    });
    extraction.on('error', reject);
    tar.on('error', (error) => extraction.destroy(error));
    tar.pipe(extraction as unknown as Writable);
  });
}

/**
 * --fetch: the artifact and its manifest, copied from the engine's host through the API
 * into DIR/<target>/ here, each written atomically; the artifact counts only once its
 * sha256 and size match the manifest's, else nothing of it stays in DIR.
 */
async function fetchArtifact(
  deps: Deps,
  folder: TargetFolder,
  fetchDir: string,
  target: string,
  file: string,
  expected: DumpResult,
): Promise<FetchedFiles> {
  const dir = join(fetchDir, target);
  await mkdir(dir, { recursive: true });
  const finalPath = join(dir, file);
  const manifestPath = `${finalPath}${MANIFEST_SUFFIX}`;
  // Under a temp name until checked: a file under the final name is always a good one.
  const checking = tempPathFor(finalPath, 'fetch');
  const signal = deps.signal ? { signal: deps.signal } : {};
  try {
    const copied = await writeStreamAtomic(checking, await fileOfArchive(await folder.archive(file)), signal);
    if (copied.sha256 !== expected.sha256 || copied.bytes !== expected.bytes) {
      throw new VerifyFailedError(
        `the fetched copy of ${file} does not match its manifest (${copied.bytes} bytes, sha256 ${copied.sha256.slice(0, 12)}…)`,
      );
    }
    await commitRename(checking, finalPath);
    await writeStreamAtomic(manifestPath, await fileOfArchive(await folder.archive(`${file}${MANIFEST_SUFFIX}`)), signal);
    return { file: finalPath, manifest: manifestPath };
  } catch (error) {
    for (const path of [checking, finalPath, manifestPath]) await rm(path, { force: true });
    throw error;
  }
}

/** After the dump: check it, commit it atomically, verify it, write its manifest, prune, fetch. */
async function finishTarget(
  deps: Deps,
  params: BackupParams,
  credentials: Credentials,
  prepared: PreparedTarget,
  outcome: DumpResult | Error,
): Promise<TargetReport> {
  const { target, folder, file, tempName, startedAt } = prepared;
  const finalPath = posix.join(folder.path, file);
  let committed = false;
  try {
    if (outcome instanceof Error) throw outcome;
    const dump = outcome;
    const manifestFor = (): { readonly name: string; readonly content: string } => {
      const manifest: BackupManifest = {
        format: 'dtool-backup/1',
        target: target.name,
        container: target.container.name,
        file,
        bytes: dump.bytes,
        sha256: dump.sha256,
        engine: params.engine,
        compression: params.compression,
        databases: params.databases ?? 'all',
        startedAt: startedAt.toISOString(),
        finishedAt: deps.clock.now().toISOString(),
        dtoolVersion: DTOOL_VERSION,
      };
      return { name: `${file}${MANIFEST_SUFFIX}`, content: `${JSON.stringify(manifest, null, 2)}\n` };
    };
    // The helper fsynced the file; the size check, the rename and the folder's fsync happen
    // beside it. The manifest is what makes the artifact count: written last, atomically, and
    // only once nothing is left to check: with --verify after the restore, else in the same call.
    let files = await folder.commit(tempName, file, dump.bytes, params.verify ? undefined : manifestFor());
    committed = true;

    const verify = params.verify
      ? await verifyBackup(deps, {
          artifactPath: finalPath,
          source: target,
          credentials,
          ...(params.databases ? { databases: params.databases } : {}),
        })
      : undefined;
    if (verify && !verify.ok) {
      // No manifest: retention must not count this backup as good, nor restore trust it.
      throw Object.assign(new VerifyFailedError(`restored copy of ${target.name} differs from the source: ${verify.summary}`), { verify });
    }
    if (files === undefined) {
      const manifest = manifestFor();
      files = await folder.writeAtomic(manifest.name, manifest.content);
    }
    const pruned = await applyRetention(deps, folder, files, target.name, params.retention);
    const fetched = params.fetchDir ? await fetchArtifact(deps, folder, params.fetchDir, target.name, file, dump) : undefined;
    deps.reporter({ type: 'target.done', target: target.name, action: 'backup', ok: true, message: file });
    return {
      target: target.name,
      container: target.container.name,
      status: 'ok',
      file: finalPath,
      bytes: dump.bytes,
      sha256: dump.sha256,
      seconds: (deps.clock.now().getTime() - startedAt.getTime()) / 1000,
      ...(verify ? { verify } : {}),
      pruned,
      ...(prepared.removedLeftovers.length ? { removedLeftovers: prepared.removedLeftovers } : {}),
      ...(fetched ? { fetched } : {}),
    };
  } catch (caught) {
    const report = failedReport(deps, target.name, target.container.name, startedAt, caught);
    return prepared.removedLeftovers.length ? { ...report, removedLeftovers: prepared.removedLeftovers } : report;
  } finally {
    // After a commit the temp file is the artifact, and the dump helper removed its scratch
    // folder before it reported success. Otherwise a killed helper's may stay: remove them.
    if (!committed)
      await folder.remove([tempName, `${tempName}.d`]).catch((error: unknown) => {
        deps.reporter({ type: 'warning', message: `${target.name}: could not remove ${tempName}: ${(error as Error).message}` });
      });
  }
}

function groupByNetwork(targets: readonly PreparedTarget[]): PreparedTarget[][] {
  const groups = new Map<string, PreparedTarget[]>();
  for (const p of targets) {
    const key = networkKey(p.target.network);
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()];
}

export async function backup(deps: Deps, params: BackupParams): Promise<BackupReport> {
  const startedAt = deps.clock.now();
  // --fetch is a folder here, on the caller's machine; --out is checked on the engine's host.
  if (params.fetchDir) await ensureWritableDir(params.fetchDir, '--fetch');
  const credentials = await readCredentialsFile(params.credentialsFile);
  const links = [...params.links];
  if (params.labels.length > 0) {
    const selected = await linksByLabel(deps.docker, params.labels);
    if (selected.length === 0 && links.length === 0) {
      throw new NotFoundError(`no running container has the label${params.labels.length > 1 ? 's' : ''} ${params.labels.join(', ')}`);
    }
    for (const link of selected) if (!links.some((l) => l.container === link.container)) links.push(link);
  }
  const resolved = await mapConcurrent(links, 8, (link) => resolveLink(deps, link));
  const reachable = resolved.filter((r): r is ResolvedLink => !('status' in r));
  if (reachable.length === 0) return report(deps, startedAt, resolved as TargetReport[]);

  const { reference: image } = await deps.images.ensure(MYSQL_TOOLS_IMAGE);
  await using outDir = await openOutDir(deps, image, params.outDir);
  const prepared = await mapConcurrent(
    resolved,
    8,
    async (r): Promise<PreparedTarget | TargetReport> => ('status' in r ? r : prepareTarget(deps, params, outDir, r)),
  );
  const ready = prepared.filter((p): p is PreparedTarget => 'folder' in p);
  const finished = new Map<PreparedTarget, TargetReport>();
  try {
    for (const group of groupByNetwork(ready)) {
      const outcomes = await dumpGroup(deps, params, credentials, image, group);
      // Without --verify, finishing is a few short steps in the output-folder helper per target:
      // they need not wait for each other. --verify starts a server per target: --concurrency.
      await mapConcurrent(group, params.verify ? params.concurrency : FINISH_CONCURRENCY, async (p) =>
        finished.set(p, await finishTarget(deps, params, credentials, p, outcomes.get(p)!)),
      );
    }
  } finally {
    for (const p of ready) await p.folder[Symbol.asyncDispose]();
  }
  // In the order of the links: a target that failed before its dump already is its report.
  return report(
    deps,
    startedAt,
    prepared.map((p) => ('folder' in p ? finished.get(p)! : p)),
  );
}

function report(deps: Deps, startedAt: Date, targets: readonly TargetReport[]): BackupReport {
  return {
    ok: targets.every((t) => t.status === 'ok'),
    startedAt: startedAt.toISOString(),
    finishedAt: deps.clock.now().toISOString(),
    targets,
  };
}

/**
 * The error a failed report stands for: a lone target's own error (so a wrong password
 * exits as a credentials error), or a partial failure across several targets.
 */
export function backupReportError(report: BackupReport): DtoolError | undefined {
  const failed = report.targets.filter((t) => t.status === 'failed');
  if (failed.length === 0) return undefined;
  if (report.targets.length === 1) {
    const only = failed[0]!;
    return new DtoolError((only.error?.code ?? 'INTERNAL') as DtoolError['code'], only.error?.message ?? 'backup failed', {
      details: only.error?.details ?? [],
      ...(only.error?.hint ? { hint: only.error.hint } : {}),
    });
  }
  return new PartialFailureError(
    failed.map((t) => t.target),
    report.targets.length,
  );
}
