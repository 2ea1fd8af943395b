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

/** The artifacts retention removes from a target folder holding `files`. */
function doomedBy(policy: RetentionPolicy, files: readonly string[], target: string, now: Date): KnownArtifact[] {
  return policy.kind === 'none' ? [] : chooseToPrune(knownArtifacts(files, target), policy, now);
}

/** `files`: the folder's names once the new manifest is written. */
async function applyRetention(
  deps: Deps,
  folder: TargetFolder,
  files: readonly string[],
  target: string,
  policy: RetentionPolicy,
): Promise<string[]> {
  const doomed = doomedBy(policy, files, target, deps.clock.now());
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

const lockedWhat = (params: BackupParams, target: string) => `backups of ${target} in ${posix.join(params.outDir, target)}`;

/** `locked`: the target's folder when it was locked with the others (lockTargets), or why not. */
async function prepareTarget(
  deps: Deps,
  params: BackupParams,
  outDir: OutDirSession,
  resolved: ResolvedLink,
  locked?: TargetFolder | DtoolError,
): Promise<PreparedTarget | TargetReport> {
  const { target, startedAt } = resolved;
  try {
    if (deps.signal?.aborted) throw new AbortedError();
    if (locked instanceof Error) throw locked;
    const folder = locked ?? (await outDir.lockTarget(target.name, { waitMs: params.lockWaitMs, what: lockedWhat(params, target.name) }));
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

/** The manifest of a dump, as the file beside it: it is what makes the artifact count. */
function manifestOf(
  deps: Deps,
  params: BackupParams,
  prepared: PreparedTarget,
  dump: DumpResult,
): { readonly name: string; readonly content: string } {
  const manifest: BackupManifest = {
    format: 'dtool-backup/1',
    target: prepared.target.name,
    container: prepared.target.container.name,
    file: prepared.file,
    bytes: dump.bytes,
    sha256: dump.sha256,
    engine: params.engine,
    compression: params.compression,
    databases: params.databases ?? 'all',
    startedAt: prepared.startedAt.toISOString(),
    finishedAt: deps.clock.now().toISOString(),
    dtoolVersion: DTOOL_VERSION,
  };
  return { name: `${prepared.file}${MANIFEST_SUFFIX}`, content: `${JSON.stringify(manifest, null, 2)}\n` };
}

function okReport(deps: Deps, prepared: PreparedTarget, dump: DumpResult, extra: Partial<TargetReport>): TargetReport {
  const { target, folder, file, startedAt } = prepared;
  deps.reporter({ type: 'target.done', target: target.name, action: 'backup', ok: true, message: file });
  return {
    target: target.name,
    container: target.container.name,
    status: 'ok',
    file: posix.join(folder.path, file),
    bytes: dump.bytes,
    sha256: dump.sha256,
    seconds: (deps.clock.now().getTime() - startedAt.getTime()) / 1000,
    ...extra,
    ...(prepared.removedLeftovers.length ? { removedLeftovers: prepared.removedLeftovers } : {}),
  };
}

function failedTargetReport(deps: Deps, prepared: PreparedTarget, caught: unknown): TargetReport {
  const report = failedReport(deps, prepared.target.name, prepared.target.container.name, prepared.startedAt, caught);
  return prepared.removedLeftovers.length ? { ...report, removedLeftovers: prepared.removedLeftovers } : report;
}

/**
 * Without --verify nothing is left to check once a group's dumps are written, so its targets
 * are finished together: the commits with their manifests in one exec of the output-folder
 * helper, retention (and the temp files of failed dumps) in another, where finishing them one
 * by one would take three execs per target.
 */
async function finishGroup(
  deps: Deps,
  params: BackupParams,
  outDir: OutDirSession,
  group: readonly PreparedTarget[],
  outcomes: ReadonlyMap<PreparedTarget, DumpResult | Error>,
): Promise<Map<PreparedTarget, TargetReport>> {
  const reports = new Map<PreparedTarget, TargetReport>();
  const dumped = group.filter((p) => !(outcomes.get(p) instanceof Error));
  const dumpOf = (p: PreparedTarget) => outcomes.get(p) as DumpResult;
  const commits = await outDir
    .commitMany(
      dumped.map((p) => ({
        folder: p.folder,
        temp: p.tempName,
        final: p.file,
        bytes: dumpOf(p).bytes,
        manifest: manifestOf(deps, params, p, dumpOf(p)),
      })),
    )
    .catch((error: unknown) => dumped.map(() => toDtoolError(error)));
  const committed = new Map<PreparedTarget, string[]>();
  for (const [i, p] of dumped.entries()) {
    const result = commits[i]!;
    if (result instanceof Error) reports.set(p, failedTargetReport(deps, p, result));
    else committed.set(p, result);
  }
  for (const p of group) {
    const outcome = outcomes.get(p);
    if (outcome instanceof Error) reports.set(p, failedTargetReport(deps, p, outcome));
  }
  // Retention for the committed; the temp files (and scratch folders) of the others.
  const now = deps.clock.now();
  const doomed = new Map([...committed].map(([p, files]) => [p, doomedBy(params.retention, files, p.target.name, now)]));
  const removals = [
    ...[...doomed].map(([p, artifacts]) => ({ folder: p.folder, names: artifacts.flatMap((a) => [a.file, `${a.file}${MANIFEST_SUFFIX}`]) })),
    ...group.filter((p) => !committed.has(p)).map((p) => ({ folder: p.folder, names: [p.tempName, `${p.tempName}.d`] })),
  ];
  const removed = await outDir.removeMany(removals).catch((error: unknown) => removals.map(() => toDtoolError(error)));
  for (const [i, removal] of removals.entries()) {
    const error = removed[i];
    if (!error) continue;
    const p = group.find((q) => q.folder === removal.folder)!;
    if (committed.has(p)) reports.set(p, failedTargetReport(deps, p, error));
    else deps.reporter({ type: 'warning', message: `${p.target.name}: could not remove ${p.tempName}: ${error.message}` });
  }
  for (const [p] of committed) {
    if (reports.has(p)) continue;
    try {
      const fetched = params.fetchDir ? await fetchArtifact(deps, p.folder, params.fetchDir, p.target.name, p.file, dumpOf(p)) : undefined;
      reports.set(p, okReport(deps, p, dumpOf(p), { pruned: doomed.get(p)!.map((a) => a.file), ...(fetched ? { fetched } : {}) }));
    } catch (caught) {
      reports.set(p, failedTargetReport(deps, p, caught));
    }
  }
  return reports;
}

/**
 * With --verify, one target after its dump: commit it, restore it into a throwaway server and
 * compare, and only then write its manifest (what makes it count), prune and fetch.
 */
async function finishVerifiedTarget(
  deps: Deps,
  params: BackupParams,
  credentials: Credentials,
  prepared: PreparedTarget,
  outcome: DumpResult | Error,
): Promise<TargetReport> {
  const { target, folder, file, tempName } = prepared;
  let committed = false;
  try {
    if (outcome instanceof Error) throw outcome;
    const dump = outcome;
    // The helper fsynced the file; the size check, the rename and the folder's fsync happen beside it.
    await folder.commit(tempName, file, dump.bytes);
    committed = true;
    const verify = await verifyBackup(deps, {
      artifactPath: posix.join(folder.path, file),
      source: target,
      credentials,
      ...(params.databases ? { databases: params.databases } : {}),
    });
    if (!verify.ok) {
      // No manifest: retention must not count this backup as good, nor restore trust it.
      throw Object.assign(new VerifyFailedError(`restored copy of ${target.name} differs from the source: ${verify.summary}`), { verify });
    }
    const manifest = manifestOf(deps, params, prepared, dump);
    const files = await folder.writeAtomic(manifest.name, manifest.content);
    const pruned = await applyRetention(deps, folder, files, target.name, params.retention);
    const fetched = params.fetchDir ? await fetchArtifact(deps, folder, params.fetchDir, target.name, file, dump) : undefined;
    return okReport(deps, prepared, dump, { verify, pruned, ...(fetched ? { fetched } : {}) });
  } catch (caught) {
    return failedTargetReport(deps, prepared, caught);
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
  // Many targets that need not wait for a lock are locked in one exec; waiting ones each wait
  // on their own, at once (and two targets of one name conflict, as they should, one by one).
  const names = reachable.map((r) => r.target.name);
  const lockAtOnce = params.lockWaitMs === 0 && names.length > 1 && new Set(names).size === names.length;
  const locked = lockAtOnce ? await outDir.lockTargets(names.map((name) => ({ name, what: lockedWhat(params, name) }))) : undefined;
  const prepared = await mapConcurrent(
    resolved,
    8,
    async (r): Promise<PreparedTarget | TargetReport> => ('status' in r ? r : prepareTarget(deps, params, outDir, r, locked?.get(r.target.name))),
  );
  const ready = prepared.filter((p): p is PreparedTarget => 'folder' in p);
  const finished = new Map<PreparedTarget, TargetReport>();
  try {
    for (const group of groupByNetwork(ready)) {
      const outcomes = await dumpGroup(deps, params, credentials, image, group);
      if (!params.verify) {
        for (const [p, report] of await finishGroup(deps, params, outDir, group, outcomes)) finished.set(p, report);
        continue;
      }
      // --verify starts a throwaway server per target: --concurrency of them at once.
      await mapConcurrent(group, params.concurrency, async (p) =>
        finished.set(p, await finishVerifiedTarget(deps, params, credentials, p, outcomes.get(p)!)),
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
