/** Swarm job reports on a terminal: one row per node, then what each node said. */
import type { SwarmHostInfoReport } from '../helpers/host/swarm.js';
import type { SwarmLogrotateReport } from '../helpers/logrotate/swarm.js';
import type { SwarmNodeReport } from '../swarm/report.js';
import { renderHostInfo, table } from './render.js';

function nodeRow(node: SwarmNodeReport, extra: readonly string[] = []): string[] {
  return [node.hostname, node.status, node.exitCode === undefined ? '-' : String(node.exitCode), ...extra, node.error?.message ?? ''];
}

export function renderSwarmHostInfo(report: SwarmHostInfoReport): string {
  const summary = table([['NODE', 'STATUS', 'EXIT', 'ERROR'], ...report.nodes.map((n) => nodeRow(n))]);
  const sections = report.nodes.filter((n) => n.info).map((n) => `\n== ${n.hostname} ==\n${renderHostInfo(n.info!)}`);
  return `${summary}${sections.join('')}`;
}

export function renderSwarmLogrotate(report: SwarmLogrotateReport): string {
  const rows = report.nodes.map((n) =>
    nodeRow(n, [`${n.files.filter((f) => f.rotated).length}/${n.files.length}`, n.lostBytes ? `${n.lostBytes} B` : '-']),
  );
  return table([['NODE', 'STATUS', 'EXIT', 'ROTATED', 'LOST', 'ERROR'], ...rows]);
}
