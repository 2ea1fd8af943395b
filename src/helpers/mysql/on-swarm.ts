/**
 * `backup --swarm` and `db-init --swarm`: `--link` names a swarm service, and the work runs
 * on the node that runs the service's task, through that node's engine (swarm/placement.ts).
 * The files land on that node, as `--out` would on a single engine. A target is named after
 * its service, not its task's container (whose name changes with every task), so its folder
 * and retention stay the same across redeploys.
 */
import type { Deps } from '../../deps.js';
import { UsageError, toDtoolError } from '../../errors.js';
import type { SwarmSettings } from '../../swarm/options.js';
import { placeOnTargetNode } from '../../swarm/placement.js';
import { backup, type BackupParams, type BackupReport, type TargetReport } from './backup.js';
import { dbInit, type DbInitParams, type DbInitReport } from './db-init.js';

function assertOneOffSettings(swarm: SwarmSettings): void {
  if (swarm.registry !== undefined) {
    throw new UsageError("--registry applies to swarm jobs; a backup or db-init loads its images into the target node's engine");
  }
}

export async function backupOnSwarm(deps: Deps, params: BackupParams, swarm: SwarmSettings): Promise<BackupReport> {
  assertOneOffSettings(swarm);
  if (params.labels.length > 0) {
    throw new UsageError('--label selects containers of one engine; with --swarm, name each service with --link SERVICE');
  }
  const startedAt = deps.clock.now();
  const targets: TargetReport[] = [];
  for (const link of params.links) {
    const name = link.alias ?? link.container;
    let placed: Awaited<ReturnType<typeof placeOnTargetNode>>;
    try {
      placed = await placeOnTargetNode(deps, link.container, swarm.constraints);
    } catch (caught) {
      const error = toDtoolError(caught);
      targets.push({
        target: name,
        container: link.container,
        status: 'failed',
        seconds: (deps.clock.now().getTime() - startedAt.getTime()) / 1000,
        error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}), details: error.details },
      });
      continue;
    }
    deps.reporter({ type: 'info', message: `${name}: runs on ${placed.node.hostname}; backing it up there` });
    const report = await backup(placed.deps, { ...params, links: [{ container: placed.container, alias: name }] });
    for (const target of report.targets) targets.push({ ...target, node: placed.node.hostname });
  }
  return {
    ok: targets.every((t) => t.status === 'ok'),
    startedAt: startedAt.toISOString(),
    finishedAt: deps.clock.now().toISOString(),
    targets,
  };
}

export async function dbInitOnSwarm(deps: Deps, params: DbInitParams, swarm: SwarmSettings): Promise<DbInitReport> {
  assertOneOffSettings(swarm);
  if (params.target.kind !== 'link') {
    throw new UsageError("--datadir-volume names a volume of one engine; with --swarm, name the server's service with --link SERVICE");
  }
  const { link } = params.target;
  const placed = await placeOnTargetNode(deps, link.container, swarm.constraints);
  const report = await dbInit(placed.deps, {
    ...params,
    target: { ...params.target, link: { container: placed.container, alias: link.alias ?? link.container } },
  });
  return { ...report, node: placed.node.hostname };
}
