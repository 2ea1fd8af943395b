/**
 * `dtool sysctl status --swarm`: the read helper (`dtool-sysctl get`) as a global Swarm job,
 * one drift report per node. Reading /proc/sys needs no privilege (the helper runs as root
 * with every capability dropped; `/proc/sys` stays read-only), so a service can express it;
 * `net.*` keys are read from the node's host network, as without --swarm.
 *
 * Writing cannot: a service cannot lift /proc/sys from the engine's read-only paths
 * (ContainerSpec has no ReadonlyPaths/MaskedPaths on API 1.41), so `set` and `apply` are
 * refused with --swarm, before anything runs.
 */
import type { Deps } from '../../deps.js';
import { DtoolError, VerifyFailedError } from '../../errors.js';
import type { Constraint } from '../../swarm/constraints.js';
import { SwarmUnsupportedError } from '../../swarm/errors.js';
import { type SwarmJobReport, type SwarmNodeReport, failedNodes, swarmReportError } from '../../swarm/report.js';
import { runSwarmJob } from '../../swarm/run-job.js';
import { type DriftRow, type SysctlSetting, checkHostSettings, sysctlSpec } from './tuner.js';

export interface SysctlNodeReport extends SwarmNodeReport {
  /** Desired against this node's actual value, per key (when its helper ran). */
  readonly rows?: readonly DriftRow[];
}

export interface SwarmSysctlStatusReport extends Omit<SwarmJobReport, 'nodes'> {
  readonly source: string;
  readonly nodes: readonly SysctlNodeReport[];
  /** The nodes (hostnames) where some key is not at its desired value. */
  readonly drifted: readonly string[];
}

export interface SwarmSysctlOptions {
  readonly constraints: readonly Constraint[];
  readonly registry?: string;
  readonly timeoutMs?: number;
}

/** `set --swarm` / `apply --swarm`: why not, and what to do instead. */
export function swarmWriteRefusal(command: 'set' | 'apply' | 'revert'): SwarmUnsupportedError {
  return new SwarmUnsupportedError(
    `sysctl ${command} --swarm is not possible: writing host sysctls needs /proc/sys writable (the host-sysctl privilege), and a Swarm service cannot get a writable /proc/sys (API 1.41 has no ReadonlyPaths/MaskedPaths, nor Privileged, for a service)`,
    {
      hint: `run it against each node's engine: DOCKER_HOST=unix:///…/docker.sock dtool --allow host-sysctl sysctl ${command} … (the nodes' dtool.engine labels name them); \`dtool sysctl status --swarm --profile FILE\` then checks every node`,
    },
  );
}

/** A node's `KEY\tVALUE` lines against the desired values; a node that printed none is failed. */
function withRows(node: SwarmNodeReport, desired: ReadonlyMap<string, string>, source: string): SysctlNodeReport {
  if (node.status !== 'ok') return node;
  const actual = new Map(
    node.stdout
      .split('\n')
      .filter((line) => line.includes('\t'))
      .map((line) => line.split('\t', 2) as [string, string]),
  );
  const missing = [...desired.keys()].filter((key) => !actual.has(key));
  if (missing.length > 0)
    return { ...node, status: 'failed', error: { code: 'HELPER_FAILED', message: `dtool-sysctl get printed no value for ${missing.join(', ')}` } };
  const rows = [...desired].map(([key, value]) => ({ key, desired: value, actual: actual.get(key)!, inSync: actual.get(key) === value, source }));
  return { ...node, rows };
}

/** Desired (a profile) against every selected node's actual values. */
export async function sysctlStatusOnSwarm(
  deps: Deps,
  desired: { readonly source: string; readonly settings: readonly SysctlSetting[] },
  options: SwarmSysctlOptions,
): Promise<SwarmSysctlStatusReport> {
  const wanted = new Map(checkHostSettings(desired.settings, deps.config.sysctlAllowlist).map((c) => [c.setting.key, c.setting.value]));
  const keys = [...wanted.keys()];
  const image = (await deps.images.ensure('host')).reference;
  const report = await runSwarmJob(deps, sysctlSpec(['get', ...keys], keys, [], image), {
    mode: 'global',
    constraints: options.constraints,
    ...(options.registry !== undefined ? { registry: options.registry } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  const nodes = report.nodes.map((n) => withRows(n, wanted, desired.source));
  const drifted = nodes.filter((n) => n.rows?.some((r) => !r.inSync)).map((n) => n.hostname);
  return { ...report, ok: nodes.every((n) => n.status === 'ok') && drifted.length === 0, source: desired.source, nodes, drifted };
}

/**
 * The error the report stands for: nodes that failed first (exit 8, or the lone node's own
 * error), the drift named in its details; else drift (exit 7), naming each node and key.
 */
export function swarmSysctlStatusError(report: SwarmSysctlStatusReport): DtoolError | undefined {
  const driftLines = report.nodes.flatMap((n) =>
    (n.rows ?? []).filter((r) => !r.inSync).map((r) => `${n.hostname}: ${r.key} is ${r.actual}, desired ${r.desired}`),
  );
  if (failedNodes(report).length > 0) {
    const failure = swarmReportError(report)!;
    if (driftLines.length === 0) return failure;
    return new DtoolError(failure.code, failure.message, { details: [...failure.details, ...driftLines] });
  }
  if (report.drifted.length === 0) return undefined;
  const keys = new Set(report.nodes.flatMap((n) => (n.rows ?? []).filter((r) => !r.inSync).map((r) => r.key)));
  return new VerifyFailedError(
    `${report.drifted.length} of ${report.nodes.length} nodes drifted (${[...keys].join(', ')}): ${report.drifted.join(', ')}`,
    { details: driftLines },
  );
}
