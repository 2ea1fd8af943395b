/**
 * What a swarm job tells its caller: one report per selected node. A job is ok only when
 * every selected node is: a node that was down, drained, could not get the image, or whose
 * task failed makes it fail, and is named.
 */
import { AbortedError, DtoolError, PartialFailureError, type ErrorCode } from '../errors.js';
import type { SwarmMode } from './service-spec.js';

/**
 *  - ok: the task completed with exit code 0
 *  - failed: the task failed, was rejected, or gave no result in time
 *  - down: the node was down (before, or went down during the run)
 *  - drained: the node's availability is drain (or pause): Swarm gives it no task
 *  - image-failed: the helper image could not be loaded into the node's engine
 */
export type SwarmNodeStatus = 'ok' | 'failed' | 'down' | 'drained' | 'image-failed';

export interface SwarmNodeReport {
  readonly nodeId: string;
  readonly hostname: string;
  readonly status: SwarmNodeStatus;
  /** The task's last state (complete, failed, rejected, running, …), when it had one. */
  readonly taskState?: string;
  readonly exitCode?: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputTruncated: boolean;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

export interface SwarmJobReport {
  readonly ok: boolean;
  readonly helper: string;
  readonly mode: SwarmMode;
  /** The service that ran the job (removed by the time the report exists). */
  readonly service: string;
  readonly runId: string;
  /** The image reference the nodes ran. */
  readonly image: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly nodes: readonly SwarmNodeReport[];
}

export function failedNodes(report: Pick<SwarmJobReport, 'nodes'>): SwarmNodeReport[] {
  return report.nodes.filter((n) => n.status !== 'ok');
}

/** `worker1 (down)`: how a failed node is named; its error goes to the details. */
export function describeFailedNode(node: SwarmNodeReport): string {
  return `${node.hostname} (${node.status})`;
}

/**
 * The error a report stands for: an interruption, a lone node's own error, or a partial
 * failure (exit 8) naming every node that was not ok.
 */
export function swarmReportError(report: SwarmJobReport): DtoolError | undefined {
  const failed = failedNodes(report);
  if (failed.length === 0) return undefined;
  if (failed.some((n) => n.error?.code === 'ABORTED')) return new AbortedError('interrupted; the swarm job was removed');
  if (report.nodes.length === 1 && failed[0]!.error) {
    const only = failed[0]!;
    return new DtoolError(only.error!.code, `${only.hostname}: ${only.error!.message}`, { details: only.stderr.split('\n').filter(Boolean) });
  }
  return new PartialFailureError(failed.map(describeFailedNode), report.nodes.length, {
    details: failed.flatMap((n) => (n.error ? [`${n.hostname}: ${n.error.message}`] : [])),
  });
}
