/**
 * `dtool logrotate`: rotates the logs in running containers' volumes, one helper per
 * target, as the files' owner. In signal mode dtool, not the helper, then signals the
 * target through the Docker API, and only if something was rotated; in copytruncate mode
 * the report gives the bytes each truncate lost.
 */
import type { ContainerDetails } from '../../docker/port.js';
import type { Deps } from '../../deps.js';
import { AbortedError, DtoolError, PartialFailureError, toDtoolError } from '../../errors.js';
import { mapConcurrent } from '../../run/concurrency.js';
import { runHelper } from '../../run/run-helper.js';
import { logrotateConfig } from './config.js';
import type { LogrotateParams } from './params.js';
import { logrotateHelperError, parseHelperOutcome, type LogrotateReport, type LogrotateTargetReport, type SignalReport } from './report.js';
import { checkTargetMounts } from './safety.js';
import { resolveSettings, settingsFromLabels, type RotationSettings } from './settings.js';
import { LOGROTATE_IMAGE, logrotateHelperSpec, stateVolumeName } from './spec.js';
import { resolveTarget, targetMounts, targetNames } from './target.js';

export { parseLogrotateParams, type LogrotateParams, type RawLogrotateOptions } from './params.js';
export type { LogFileReport, LogrotateReport, LogrotateTargetReport, SignalReport } from './report.js';

const RESOLVE_CONCURRENCY = 8;

function secondsSince(deps: Deps, startedAt: Date): number {
  return (deps.clock.now().getTime() - startedAt.getTime()) / 1000;
}

function errorFields(error: DtoolError): NonNullable<LogrotateTargetReport['error']> {
  return { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}), details: error.details };
}

interface ReadyTarget {
  readonly target: string;
  readonly container: ContainerDetails;
  readonly settings: RotationSettings;
  readonly startedAt: Date;
}

function failed(
  deps: Deps,
  target: string,
  container: string,
  startedAt: Date,
  caught: unknown,
  extra: Partial<LogrotateTargetReport> = {},
): LogrotateTargetReport {
  const error = toDtoolError(caught);
  deps.reporter({ type: 'target.done', target, action: 'logrotate', ok: false, message: error.message });
  return { target, container, status: 'failed', files: [], ...extra, seconds: secondsSince(deps, startedAt), error: errorFields(error) };
}

/** Resolves a target and its settings, and refuses what must not be rotated, before any helper starts. */
async function prepare(deps: Deps, params: LogrotateParams, target: string): Promise<ReadyTarget | LogrotateTargetReport> {
  const startedAt = deps.clock.now();
  deps.reporter({ type: 'target.start', target, action: 'logrotate' });
  let container: ContainerDetails | undefined;
  try {
    if (deps.signal?.aborted) throw new AbortedError();
    container = await resolveTarget(deps.docker, target);
    const settings = resolveSettings(params.settings, settingsFromLabels(container.labels, container.name), container.name);
    checkTargetMounts(container.name, targetMounts(container), settings.paths);
    return { target, container, settings, startedAt };
  } catch (caught) {
    return failed(deps, target, container?.name ?? target, startedAt, caught);
  }
}

async function sendSignal(deps: Deps, ready: ReadyTarget, rotated: number): Promise<SignalReport> {
  const name = ready.settings.signal!;
  if (rotated === 0) return { name, sent: false, reason: 'nothing was rotated' };
  await deps.docker.killContainer(ready.container.id, name);
  return { name, sent: true };
}

async function rotate(deps: Deps, params: LogrotateParams, image: string, ready: ReadyTarget): Promise<LogrotateTargetReport> {
  const { target, container, settings, startedAt } = ready;
  const base = { mode: settings.mode, stateVolume: stateVolumeName(container.name) };
  try {
    const spec = logrotateHelperSpec({
      image,
      container: container.name,
      mode: settings.mode,
      paths: settings.paths,
      config: logrotateConfig(container.name, settings),
      force: params.force,
    });
    const result = await runHelper(deps, spec, { allowFailure: true });
    const outcome = parseHelperOutcome(result.stdout);
    const helperError =
      result.exitCode !== 0
        ? logrotateHelperError(result, container.name)
        : outcome === undefined
          ? new DtoolError('INTERNAL', `helper ${result.helper} printed no result line`, { details: result.stdout.split('\n').slice(-5) })
          : undefined;
    const files = outcome?.files ?? [];
    const rotated = files.filter((f) => f.rotated).length;
    const lostBytes = settings.mode === 'copytruncate' ? files.reduce((sum, f) => sum + (f.lostBytes ?? 0), 0) : undefined;
    // Even after a failed run: a file that was renamed must be let go of, or the application writes on into it.
    let signal: SignalReport | undefined;
    let signalError: unknown;
    if (settings.mode === 'signal') {
      try {
        signal = await sendSignal(deps, ready, rotated);
      } catch (caught) {
        signalError = caught;
        signal = { name: settings.signal!, sent: false, reason: toDtoolError(caught).message };
      }
    }
    const extra = { ...base, files, ...(signal ? { signal } : {}), ...(lostBytes !== undefined ? { lostBytes } : {}) };
    if (helperError || signalError) return failed(deps, target, container.name, startedAt, helperError ?? signalError, extra);
    const message = `${rotated} of ${files.length} file${files.length === 1 ? '' : 's'} rotated${signal?.sent ? `, ${signal.name} sent` : ''}${lostBytes ? `, ${lostBytes} bytes lost to copytruncate` : ''}`;
    deps.reporter({ type: 'target.done', target, action: 'logrotate', ok: true, message });
    return { target, container: container.name, status: 'ok', ...extra, seconds: secondsSince(deps, startedAt) };
  } catch (caught) {
    return failed(deps, target, container.name, startedAt, caught, base);
  }
}

export async function logrotate(deps: Deps, params: LogrotateParams): Promise<LogrotateReport> {
  const startedAt = deps.clock.now();
  const names = await targetNames(deps.docker, params.volumesFrom, params.labels);
  const prepared = await mapConcurrent(names, RESOLVE_CONCURRENCY, (name) => prepare(deps, params, name));
  // A container named twice (by name and ID, or by name and label) is rotated once.
  const seen = new Set<string>();
  const unique = prepared.filter((p) => !('settings' in p) || (!seen.has(p.container.id) && seen.add(p.container.id)));
  const ready = unique.filter((p): p is ReadyTarget => 'settings' in p);
  const { reference: image } = ready.length > 0 ? await deps.images.ensure(LOGROTATE_IMAGE) : { reference: '' };
  const rotatedReports = new Map<ReadyTarget, LogrotateTargetReport>();
  await mapConcurrent(ready, params.concurrency, async (r) => rotatedReports.set(r, await rotate(deps, params, image, r)));
  const targets = unique.map((p) => ('settings' in p ? rotatedReports.get(p)! : p));
  return {
    ok: targets.every((t) => t.status === 'ok'),
    startedAt: startedAt.toISOString(),
    finishedAt: deps.clock.now().toISOString(),
    targets,
  };
}

/**
 * The error a failed report stands for: a lone target's own error (a missing container
 * exits as not-found), an interruption, or a partial failure across several targets.
 */
export function logrotateReportError(report: LogrotateReport): DtoolError | undefined {
  const failedTargets = report.targets.filter((t) => t.status === 'failed');
  if (failedTargets.length === 0) return undefined;
  if (failedTargets.some((t) => t.error?.code === 'ABORTED')) return new AbortedError();
  if (report.targets.length === 1) {
    const only = failedTargets[0]!;
    return new DtoolError((only.error?.code ?? 'INTERNAL') as DtoolError['code'], only.error?.message ?? 'logrotate failed', {
      details: only.error?.details ?? [],
      ...(only.error?.hint ? { hint: only.error.hint } : {}),
    });
  }
  return new PartialFailureError(
    failedTargets.map((t) => t.target),
    report.targets.length,
  );
}
