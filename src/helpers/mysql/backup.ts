/**
 * `dtool backup`: consistent dumps of MariaDB/MySQL containers, written by the helper into
 * the mounted output folder, verified, then committed atomically with a manifest.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Deps } from '../../deps.js';
import { AbortedError, DtoolError, NotFoundError, PartialFailureError, VerifyFailedError, toDtoolError } from '../../errors.js';
import { commitRename, writeFileAtomic } from '../../host/atomic-file.js';
import { acquireLock, type HeldLock } from '../../host/lock.js';
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
import { chooseToPrune, type KnownArtifact, type RetentionPolicy } from './retention.js';
import { linksByLabel, resolveTarget, type LinkSpec, type ResolvedTarget } from './target.js';
import type { BackupManifest } from './manifest.js';
import { verifyBackup, type VerifyReport } from './verify.js';

export { parseBackupParams, type BackupParams, type RawBackupOptions } from './backup-params.js';

export interface TargetReport {
  readonly target: string;
  readonly container: string;
  readonly status: 'ok' | 'failed';
  readonly file?: string;
  readonly bytes?: number;
  readonly sha256?: string;
  readonly seconds: number;
  readonly verify?: VerifyReport;
  readonly pruned?: readonly string[];
  /** Temp files and scratch folders of earlier runs that died, removed once this run held the lock. */
  readonly removedLeftovers?: readonly string[];
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string; readonly details: readonly string[] };
}

export interface BackupReport {
  readonly ok: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly targets: readonly TargetReport[];
}

async function nextFreeName(dir: string, make: (sequence: number) => string): Promise<string> {
  for (let sequence = 0; ; sequence++) {
    const name = make(sequence);
    const exists = await stat(join(dir, name)).then(
      () => true,
      () => false,
    );
    if (!exists) return name;
  }
}

async function listArtifacts(dir: string, target: string): Promise<KnownArtifact[]> {
  const files = new Set(await readdir(dir));
  const artifacts: KnownArtifact[] = [];
  for (const file of files) {
    const parsed = parseArtifactName(target, file);
    if (parsed) artifacts.push({ ...parsed, hasManifest: files.has(`${file}${MANIFEST_SUFFIX}`) });
  }
  return artifacts;
}

async function applyRetention(deps: Deps, dir: string, target: string, policy: RetentionPolicy): Promise<string[]> {
  const doomed = chooseToPrune(await listArtifacts(dir, target), policy, deps.clock.now());
  for (const artifact of doomed) {
    await rm(join(dir, artifact.file), { force: true });
    await rm(join(dir, `${artifact.file}${MANIFEST_SUFFIX}`), { force: true });
  }
  return doomed.map((a) => a.file);
}

interface DumpResult {
  readonly bytes: number;
  readonly sha256: string;
}

/** A target resolved, locked and named, ready to be dumped. */
interface PreparedTarget {
  readonly target: ResolvedTarget;
  readonly targetDir: string;
  readonly file: string;
  readonly tempName: string;
  readonly lock: HeldLock;
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
async function removeLeftovers(deps: Deps, targetDir: string, target: string): Promise<string[]> {
  const leftovers = (await readdir(targetDir)).filter((name) => isLeftoverOf(target, name));
  for (const name of leftovers) await rm(join(targetDir, name), { recursive: true, force: true });
  if (leftovers.length > 0) {
    deps.reporter({
      type: 'warning',
      message: `${target}: removed ${leftovers.length} temp file${leftovers.length > 1 ? 's' : ''} of an earlier run that did not finish (${leftovers.join(', ')})`,
    });
  }
  return leftovers;
}

async function prepareTarget(deps: Deps, params: BackupParams, link: LinkSpec): Promise<PreparedTarget | TargetReport> {
  const startedAt = deps.clock.now();
  deps.reporter({ type: 'target.start', target: link.alias ?? link.container, action: 'backup' });
  try {
    if (deps.signal?.aborted) throw new AbortedError();
    const target = await resolveTarget(deps.docker, link);
    const targetDir = join(params.outDir, target.name);
    await mkdir(targetDir, { recursive: true });
    const lock = await acquireLock(join(targetDir, '.dtool.lock'), `backups of ${target.name} in ${targetDir}`, {
      waitMs: params.lockWaitMs,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    try {
      const removedLeftovers = await removeLeftovers(deps, targetDir, target.name);
      const file = await nextFreeName(targetDir, (seq) => artifactName(target.name, startedAt, params.engine, params.compression, seq));
      return { target, targetDir, file, tempName: tempNameFor(file), lock, startedAt, removedLeftovers };
    } catch (error) {
      await lock[Symbol.asyncDispose]();
      throw error;
    }
  } catch (caught) {
    return failedReport(deps, link.alias ?? link.container, link.container, startedAt, caught);
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
      targetDir: p.targetDir,
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

/** After the dump: check it, commit it atomically, verify it, write its manifest, prune. */
async function finishTarget(
  deps: Deps,
  params: BackupParams,
  credentials: Credentials,
  prepared: PreparedTarget,
  outcome: DumpResult | Error,
): Promise<TargetReport> {
  const { target, targetDir, file, tempName, startedAt } = prepared;
  const finalPath = join(targetDir, file);
  const tempPath = join(targetDir, tempName);
  try {
    if (outcome instanceof Error) throw outcome;
    const dump = outcome;
    const written = await stat(tempPath);
    if (written.size !== dump.bytes || dump.bytes === 0) {
      throw new VerifyFailedError(`dump of ${target.name} is ${written.size} bytes on disk, the helper wrote ${dump.bytes}`);
    }
    // The helper fsynced the file; the rename and the directory entry are made durable here.
    await commitRename(tempPath, finalPath);

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
    // The manifest is what makes the artifact count: written last, atomically.
    await writeFileAtomic(`${finalPath}${MANIFEST_SUFFIX}`, `${JSON.stringify(manifest, null, 2)}\n`);
    const pruned = await applyRetention(deps, targetDir, target.name, params.retention);
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
    };
  } catch (caught) {
    const report = failedReport(deps, target.name, target.container.name, startedAt, caught);
    return prepared.removedLeftovers.length ? { ...report, removedLeftovers: prepared.removedLeftovers } : report;
  } finally {
    await rm(tempPath, { force: true });
    await rm(`${tempPath}.d`, { recursive: true, force: true });
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
  await ensureWritableDir(params.outDir, '--out');
  const credentials = await readCredentialsFile(params.credentialsFile);
  const links = [...params.links];
  if (params.labels.length > 0) {
    const selected = await linksByLabel(deps.docker, params.labels);
    if (selected.length === 0 && links.length === 0) {
      throw new NotFoundError(`no running container has the label${params.labels.length > 1 ? 's' : ''} ${params.labels.join(', ')}`);
    }
    for (const link of selected) if (!links.some((l) => l.container === link.container)) links.push(link);
  }
  const { reference: image } = await deps.images.ensure(MYSQL_TOOLS_IMAGE);

  const prepared = await mapConcurrent(links, 8, (link) => prepareTarget(deps, params, link));
  const ready = prepared.filter((p): p is PreparedTarget => 'lock' in p);
  const finished = new Map<PreparedTarget, TargetReport>();
  try {
    for (const group of groupByNetwork(ready)) {
      const outcomes = await dumpGroup(deps, params, credentials, image, group);
      await mapConcurrent(group, params.concurrency, async (p) =>
        finished.set(p, await finishTarget(deps, params, credentials, p, outcomes.get(p)!)),
      );
    }
  } finally {
    for (const p of ready) await p.lock[Symbol.asyncDispose]();
  }
  // In the order of the links: a target that failed before its dump already is its report.
  const targets = prepared.map((p) => ('lock' in p ? finished.get(p)! : p));
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
