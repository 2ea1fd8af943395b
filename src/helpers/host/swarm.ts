/**
 * `dtool host info --swarm`: the same read-only helper as a global Swarm job, one report per
 * node. The paths are each node's own: they are not checked here, and a node lacking one
 * reports it (its task is rejected: the bind source does not exist).
 */
import { isAbsolute } from 'node:path';
import type { Deps } from '../../deps.js';
import { UsageError } from '../../errors.js';
import type { Constraint } from '../../swarm/constraints.js';
import type { SwarmJobReport, SwarmNodeReport } from '../../swarm/report.js';
import { runSwarmJob } from '../../swarm/run-job.js';
import { type HostInfo, hostInfoSpec } from './info.js';

export interface HostInfoNodeReport extends SwarmNodeReport {
  /** The node's host info, when its helper ran and printed it. */
  readonly info?: HostInfo;
}

export interface SwarmHostInfoReport extends Omit<SwarmJobReport, 'nodes'> {
  readonly nodes: readonly HostInfoNodeReport[];
}

export interface SwarmRunOptions {
  readonly constraints: readonly Constraint[];
  readonly registry?: string;
  readonly timeoutMs?: number;
}

/** A node's printed JSON, or the node turned failed when it printed none. */
function withInfo(node: SwarmNodeReport): HostInfoNodeReport {
  if (node.status !== 'ok') return node;
  try {
    return { ...node, info: JSON.parse(node.stdout) as HostInfo };
  } catch (error) {
    return { ...node, status: 'failed', error: { code: 'HELPER_FAILED', message: `dtool-host-info printed no JSON: ${(error as Error).message}` } };
  }
}

export async function hostInfoOnSwarm(deps: Deps, paths: readonly string[], options: SwarmRunOptions): Promise<SwarmHostInfoReport> {
  const relative = paths.find((p) => !isAbsolute(p));
  if (relative !== undefined) throw new UsageError(`--path ${relative}: with --swarm, paths are each node's and must be absolute`);
  const image = (await deps.images.ensure('host')).reference;
  const report = await runSwarmJob(deps, hostInfoSpec(image, paths), {
    mode: 'global',
    constraints: options.constraints,
    ...(options.registry !== undefined ? { registry: options.registry } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  const nodes = report.nodes.map(withInfo);
  return { ...report, ok: nodes.every((n) => n.status === 'ok'), nodes };
}
