/**
 * `dtool logrotate --swarm`: the same helper as a global Swarm job, rotating host folders on
 * every selected node. A container target lives on one node and is signalled through that
 * node's engine, so with --swarm the targets are host paths instead: each `--path` glob's
 * folder (its part before the first glob character) is bind-mounted read-write at its own
 * path, and the files are copied and truncated (copytruncate: no process to signal).
 */
import { createHash } from 'node:crypto';
import type { HelperMount } from '../../core/helper-spec.js';
import type { Deps } from '../../deps.js';
import { UsageError } from '../../errors.js';
import type { Constraint } from '../../swarm/constraints.js';
import type { SwarmJobReport, SwarmNodeReport } from '../../swarm/report.js';
import { runSwarmJob } from '../../swarm/run-job.js';
import { logrotateConfig } from './config.js';
import { type LogrotateParams, type RawLogrotateOptions, parseLogrotateParams } from './params.js';
import { type LogFileReport, parseHelperOutcome } from './report.js';
import { checkTargetMounts, isWithin } from './safety.js';
import { type RotationSettings, components, resolveSettings } from './settings.js';
import { LOGROTATE_IMAGE, logrotateHelperSpec, stateVolumeName } from './spec.js';

export interface SwarmLogrotateParams {
  readonly settings: RotationSettings;
  readonly force: boolean;
  /** The host folders bind-mounted on each node: the globs' literal folders, without nesting. */
  readonly folders: readonly string[];
}

export interface LogrotateNodeReport extends SwarmNodeReport {
  /** Every file the globs matched on the node, rotated or not. */
  readonly files: readonly LogFileReport[];
  readonly lostBytes?: number;
}

export interface SwarmLogrotateReport extends Omit<SwarmJobReport, 'nodes'> {
  readonly folders: readonly string[];
  /** On each node, the named volume holding logrotate's state for these folders. */
  readonly stateVolume: string;
  readonly nodes: readonly LogrotateNodeReport[];
}

/** The folder a glob's files live under: its components up to (not including) the first with a glob character, and never the file itself. */
export function globFolder(glob: string): string {
  const parts = components(glob);
  const literal: string[] = [];
  for (const part of parts.slice(0, -1)) {
    if (/[*?[]/.test(part)) break;
    literal.push(part);
  }
  return `/${literal.join('/')}`;
}

/** Host-path targets for --swarm, validated as the CLI validates its flags. */
export function parseSwarmLogrotateParams(raw: RawLogrotateOptions, cwd: string): SwarmLogrotateParams {
  if (raw.volumesFrom !== undefined || raw.label !== undefined) {
    throw new UsageError('--swarm rotates host folders on each node: --volumes-from and --label name containers, which live on one node', {
      hint: 'name the host files with --path GLOB (e.g. --path /var/log/app/*.log); rotate container logs per host without --swarm',
    });
  }
  if (raw.path === undefined) throw new UsageError('--swarm needs --path GLOB: the host files to rotate on each node, e.g. /var/log/app/*.log');
  if (raw.mode === 'signal' || raw.signal !== undefined) {
    throw new UsageError('--swarm rotates host files with copytruncate: there is no container to signal', { hint: 'drop --mode signal / --signal' });
  }
  // The settings are checked exactly as for container targets; the target check, which
  // wants a container, is satisfied by a placeholder and its result dropped.
  const checked: LogrotateParams = parseLogrotateParams({ ...raw, label: 'dtool.swarm' }, cwd);
  const settings = resolveSettings(checked.settings, {}, '--swarm');
  const folders = [...new Set(settings.paths.map(globFolder))].sort();
  const outermost = folders.filter((f) => !folders.some((other) => other !== f && isWithin(f, other)));
  checkTargetMounts(
    'the swarm job',
    outermost.map((folder) => ({ source: folder, destination: folder })),
    settings.paths,
  );
  return { settings, force: checked.force, folders: outermost };
}

/** One state volume per set of folders, so that "daily" holds across runs on each node. */
export function swarmStateKey(folders: readonly string[]): string {
  return `swarm-${createHash('sha256').update(folders.join('\n')).digest('hex').slice(0, 12)}`;
}

function withFiles(node: SwarmNodeReport): LogrotateNodeReport {
  const outcome = parseHelperOutcome(node.stdout);
  const files = outcome?.files ?? [];
  const lostBytes = files.reduce((sum, f) => sum + (f.lostBytes ?? 0), 0);
  if (node.status === 'ok' && outcome === undefined) {
    return { ...node, status: 'failed', files, error: { code: 'INTERNAL', message: 'dtool-logrotate printed no result line' } };
  }
  return { ...node, files, lostBytes };
}

export async function logrotateOnSwarm(
  deps: Deps,
  params: SwarmLogrotateParams,
  options: { readonly constraints: readonly Constraint[]; readonly registry?: string; readonly timeoutMs?: number },
): Promise<SwarmLogrotateReport> {
  const image = (await deps.images.ensure(LOGROTATE_IMAGE)).reference;
  const key = swarmStateKey(params.folders);
  const base = logrotateHelperSpec({
    image,
    container: key,
    mode: params.settings.mode,
    paths: params.settings.paths,
    config: logrotateConfig(`host folders ${params.folders.join(', ')}`, params.settings),
    force: params.force,
  });
  const folderMounts = params.folders.map((folder): HelperMount => ({ type: 'bind', source: folder, target: folder, readOnly: false }));
  const { volumesFrom: _containerVolumes, ...withoutContainer } = base;
  const spec = { ...withoutContainer, mounts: [...(base.mounts ?? []), ...folderMounts] };
  const report = await runSwarmJob(deps, spec, {
    mode: 'global',
    constraints: options.constraints,
    ...(options.registry !== undefined ? { registry: options.registry } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  const nodes = report.nodes.map(withFiles);
  return { ...report, ok: nodes.every((n) => n.status === 'ok'), folders: params.folders, stateVolume: stateVolumeName(key), nodes };
}
