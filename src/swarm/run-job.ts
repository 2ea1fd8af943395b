/**
 * A helper run as a Swarm job, with one result per node: check this engine is a manager,
 * select the nodes (constraints), leave out those that are down or drained, get the image
 * onto the others, create the service, wait (polling its tasks, watching the nodes so one
 * that goes down is reported instead of waited on), collect each task's exit code and
 * output, and remove the service and its secrets in every case — success, failure,
 * timeout, Ctrl-C. A service left behind by a killed dtool is swept by owner, like a helper
 * container (run/orphans.ts), or by `dtool prune --swarm`.
 */
import type { HelperRunSpec } from '../core/helper-spec.js';
import type { Deps } from '../deps.js';
import type { SwarmNode, SwarmTask, TaskLogs } from '../docker/port.js';
import { AbortedError, type ErrorCode } from '../errors.js';
import { mapConcurrent } from '../run/concurrency.js';
import { newRunId } from '../run/helper-container.js';
import { DTOOL_VERSION } from '../version.js';
import { type Constraint, selectNodes } from './constraints.js';
import { ENGINE_LABEL, chooseImageSource, distributeImage, pushToRegistry } from './images.js';
import { managerNodeId } from './manager.js';
import type { SwarmJobReport, SwarmNodeReport, SwarmNodeStatus } from './report.js';
import { sweepSwarmOrphans } from './sweep.js';
import { LABEL_SWARM_JOB, assertSwarmCompatible, secretName, serviceName, swarmLabels, toServiceSpec, type SwarmMode } from './service-spec.js';

export interface SwarmJobOptions {
  /** global: once on every selected node; one-off: once, on one of them. */
  readonly mode: SwarmMode;
  /** Which nodes (default: all). */
  readonly constraints?: readonly Constraint[];
  /** Push the image to this registry and let the nodes pull it; default: load it into each node's engine. */
  readonly registry?: string;
  /** How long to wait for every node's result (default: the spec's timeout, else the configured helper timeout). */
  readonly timeoutMs?: number;
  /**
   * The longest wait between two polls of the tasks, and how often the nodes are polled
   * (default 1 s). The tasks are polled faster at first: every 150 ms, then a tenth of the
   * time waited so far, up to this (see waitForTasks).
   */
  readonly pollIntervalMs?: number;
  /** Nodes loading the image at once (default 3). */
  readonly loadConcurrency?: number;
}

/** Task states after which a task never runs again. */
const TERMINAL_STATES = new Set(['complete', 'failed', 'rejected', 'shutdown', 'orphaned', 'remove']);
const OUTPUT_LIMIT_BYTES = 1024 * 1024;
const LOGS_TIMEOUT_MS = 30_000;
const LOGS_CONCURRENCY = 4;
const CLEANUP_ATTEMPTS = 4;
const CLEANUP_RETRY_MS = 300;
/**
 * The first polls' interval. A short job's tasks end about a second after the service is
 * created (measured on the local swarm: bench/swarm.mjs), so a fixed 1 s poll added up to a
 * second to every run; polling at a tenth of the elapsed time (at least this, at most
 * pollIntervalMs) keeps that waste under 10% for a long job while a short one pays ≤ 150 ms.
 */
const FAST_POLL_MS = 150;

interface Outcome {
  readonly task?: SwarmTask;
  /** Why no terminal task: the node went down, time ran out, or the user interrupted. */
  readonly stopped?: 'down' | 'timeout' | 'abort';
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Each node's run: its first task that finished (a failed task's retry is parked by the
 * restart policy and never runs: see service-spec.ts), else its most recent task.
 */
function taskPerNode(tasks: readonly SwarmTask[]): Map<string, SwarmTask> {
  const chosen = new Map<string, SwarmTask>();
  for (const task of tasks) {
    if (!task.nodeId) continue;
    const seen = chosen.get(task.nodeId);
    const finished = TERMINAL_STATES.has(task.state);
    const seenFinished = seen !== undefined && TERMINAL_STATES.has(seen.state);
    const better =
      !seen ||
      (finished && !seenFinished) ||
      (finished === seenFinished && (finished ? task.updatedAt < seen.updatedAt : task.updatedAt > seen.updatedAt));
    if (better) chosen.set(task.nodeId, task);
  }
  return chosen;
}

function excludedReport(node: SwarmNode, status: SwarmNodeStatus, message: string): SwarmNodeReport {
  return {
    nodeId: node.id,
    hostname: node.hostname,
    status,
    stdout: '',
    stderr: '',
    outputTruncated: false,
    error: { code: 'ENGINE_UNAVAILABLE', message },
  };
}

function taskReport(node: SwarmNode, outcome: Outcome, logs: TaskLogs | undefined, timeoutMs: number): SwarmNodeReport {
  const { task } = outcome;
  const base = {
    nodeId: node.id,
    hostname: node.hostname,
    ...(task ? { taskState: task.state } : {}),
    ...(task?.exitCode !== undefined ? { exitCode: task.exitCode } : {}),
    stdout: logs?.stdout ?? '',
    stderr: logs?.stderr ?? '',
    outputTruncated: logs?.truncated ?? false,
  };
  const fail = (status: SwarmNodeStatus, code: ErrorCode, message: string): SwarmNodeReport => ({ ...base, status, error: { code, message } });
  if (outcome.stopped === 'down') {
    const taskEnd = task ? `task ${task.state}${task.error ? `: ${task.error}` : ''}` : 'task not started';
    return fail('down', 'ENGINE_UNAVAILABLE', `node ${node.hostname} went down during the run (${taskEnd})`);
  }
  if (outcome.stopped === 'abort') return fail('failed', 'ABORTED', 'interrupted');
  if (outcome.stopped === 'timeout' || !task) {
    return fail(
      'failed',
      'TIMEOUT',
      `no result within ${Math.round(timeoutMs / 1000)}s (task ${task?.state ?? 'never scheduled'}${task?.error ? `: ${task.error}` : ''})`,
    );
  }
  if (task.state === 'complete' && (task.exitCode ?? 0) === 0) return { ...base, status: 'ok' };
  const lastLine = base.stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .at(-1);
  if (task.state === 'complete' || task.state === 'failed') {
    const reason = task.exitCode !== undefined ? `exited with code ${task.exitCode}` : task.error || 'failed';
    return fail(
      'failed',
      'HELPER_FAILED',
      `${reason}${lastLine ? `: ${lastLine}` : task.error && task.exitCode !== undefined ? `: ${task.error}` : ''}`,
    );
  }
  // rejected (e.g. the image or a bind source is missing on the node), shutdown, orphaned.
  return fail('failed', 'HELPER_FAILED', `task ${task.state}${task.error ? `: ${task.error}` : task.message ? `: ${task.message}` : ''}`);
}

/** Polls until every job node's task is terminal, the node is down, time runs out or the user interrupts. */
async function waitForTasks(
  deps: Deps,
  serviceId: string,
  jobNodes: readonly SwarmNode[],
  mode: SwarmMode,
  timeoutMs: number,
  pollIntervalMs: number,
): Promise<Map<string, Outcome>> {
  const { docker, signal } = deps;
  const deadline = Date.now() + timeoutMs;
  const outcomes = new Map<string, Outcome>();
  const jobNodeIds = new Set(jobNodes.map((n) => n.id));
  const finished = () => (mode === 'global' ? outcomes.size >= jobNodeIds.size : outcomes.size > 0);
  let latest = new Map<string, SwarmTask>();
  const started = Date.now();
  // The nodes are listed at most once per pollIntervalMs: a node going down is rare, the tasks are what a run waits on.
  let nodesListedAt = Number.NEGATIVE_INFINITY;
  let down = new Set<string>();
  for (;;) {
    latest = taskPerNode(await docker.listTasks({ serviceId }));
    for (const [nodeId, task] of latest) {
      if (outcomes.has(nodeId) || !TERMINAL_STATES.has(task.state)) continue;
      if (mode === 'global' && !jobNodeIds.has(nodeId)) continue;
      outcomes.set(nodeId, { task });
    }
    if (finished()) return outcomes;
    // A node that goes down never reports its task's end: stop waiting for it.
    if (Date.now() - nodesListedAt >= pollIntervalMs) {
      nodesListedAt = Date.now();
      down = new Set((await docker.listNodes()).filter((n) => n.state === 'down').map((n) => n.id));
    }
    const waitingOn = mode === 'global' ? [...jobNodeIds].filter((id) => !outcomes.has(id)) : [...latest.keys()];
    for (const nodeId of waitingOn) {
      if (down.has(nodeId)) outcomes.set(nodeId, { ...(latest.has(nodeId) ? { task: latest.get(nodeId)! } : {}), stopped: 'down' });
    }
    if (finished()) return outcomes;
    const stopped = signal?.aborted ? 'abort' : Date.now() >= deadline ? 'timeout' : undefined;
    if (stopped) {
      const remaining = mode === 'global' ? [...jobNodeIds].filter((id) => !outcomes.has(id)) : [...latest.keys()].slice(0, 1);
      for (const nodeId of remaining.length ? remaining : [''])
        outcomes.set(nodeId, { ...(latest.has(nodeId) ? { task: latest.get(nodeId)! } : {}), stopped });
      return outcomes;
    }
    const interval = Math.min(pollIntervalMs, Math.max(FAST_POLL_MS, (Date.now() - started) / 10));
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), signal);
  }
}

/**
 * Removing a job-mode service leaves its tasks' containers on the nodes (moby/moby#42789,
 * #44312: Swarm never reaps the tasks of a removed job, up to Docker 27 at least), a running
 * one included after a timeout or Ctrl-C, and the parked retry of a failed task (created a
 * moment after the failure, never started). They are removed through each node's engine,
 * like `docker rm -f`, together with the job containers of earlier runs whose service is gone
 * (a dtool killed mid-cleanup). A node that cannot be reached keeps them (a warning says so).
 * When some node failed, a retry may still be on its way: look again, briefly, a few times.
 */
async function removeTaskContainers(
  deps: Deps,
  runId: string,
  nodes: readonly SwarmNode[],
  selfNodeId: string,
  expectRetries: boolean,
): Promise<void> {
  const live = new Set((await deps.docker.listServices({ labels: [LABEL_SWARM_JOB] })).map((s) => s.labels[LABEL_SWARM_JOB]));
  live.delete(runId);
  await mapConcurrent(nodes, LOGS_CONCURRENCY, async (node) => {
    const address = node.labels[ENGINE_LABEL];
    if (node.id !== selfNodeId && !address) return;
    try {
      const engine = node.id === selfNodeId ? deps.docker : await deps.connectEngine(address!);
      for (let attempt = 0; attempt < (expectRetries ? CLEANUP_ATTEMPTS : 1); attempt++) {
        if (attempt > 0) await sleep(CLEANUP_RETRY_MS, undefined);
        const stale = (await engine.listContainers({ labels: [LABEL_SWARM_JOB], all: true })).filter((c) => !live.has(c.labels[LABEL_SWARM_JOB]));
        for (const container of stale) await engine.removeContainer(container.id);
      }
    } catch (error) {
      deps.reporter({ type: 'warning', message: `could not remove the job's container on ${node.hostname}: ${(error as Error).message}` });
    }
  });
}

export async function runSwarmJob(deps: Deps, spec: HelperRunSpec, options: SwarmJobOptions): Promise<SwarmJobReport> {
  const { docker, reporter, signal } = deps;
  if (signal?.aborted) throw new AbortedError();
  assertSwarmCompatible(spec);
  const startedAt = deps.clock.now();

  const selfNodeId = await managerNodeId(docker);
  const nodes = await docker.listNodes();
  const selected = selectNodes(nodes, options.constraints ?? []);
  // What killed dtool runs of this host left on the swarm goes first, as with containers.
  await sweepSwarmOrphans(deps);

  const runId = newRunId();
  const name = serviceName(spec.helper, runId);
  const timeoutMs = options.timeoutMs ?? spec.timeoutMs ?? deps.config.helperTimeoutMs;
  const excluded = new Map<string, SwarmNodeReport>();
  for (const node of selected) {
    if (node.state !== 'ready') excluded.set(node.id, excludedReport(node, 'down', `node ${node.hostname} is ${node.state}`));
    else if (node.availability !== 'active')
      excluded.set(
        node.id,
        excludedReport(
          node,
          'drained',
          `node ${node.hostname} is ${node.availability === 'drain' ? 'drained' : node.availability} (availability ${node.availability})`,
        ),
      );
  }

  const source = chooseImageSource(spec.image, options.registry);
  const runnable = selected.filter((n) => !excluded.has(n.id));
  if (runnable.length > 0) {
    if (source.kind === 'registry') {
      await pushToRegistry(deps, spec.image, source.reference);
    } else {
      const statuses = await distributeImage(deps, spec.image, runnable, selfNodeId, options.loadConcurrency);
      for (const node of runnable) {
        const status = statuses.get(node.id);
        if (status?.status === 'failed') excluded.set(node.id, excludedReport(node, 'image-failed', status.error));
      }
    }
  }
  const jobNodes = runnable.filter((n) => !excluded.has(n.id));
  const byId = new Map(nodes.map((n) => [n.id, n]));

  const finish = (ran: readonly SwarmNodeReport[]): SwarmJobReport => {
    const reports =
      options.mode === 'global' || ran.length === 0 ? selected.map((n) => excluded.get(n.id) ?? ran.find((r) => r.nodeId === n.id)!) : ran;
    for (const r of reports) {
      reporter({
        type: 'target.done',
        target: r.hostname,
        action: `swarm ${spec.helper}`,
        ok: r.status === 'ok',
        message: r.error?.message ?? r.status,
      });
    }
    return {
      ok: reports.every((r) => r.status === 'ok'),
      helper: spec.helper,
      mode: options.mode,
      service: name,
      runId,
      image: source.reference,
      startedAt: startedAt.toISOString(),
      finishedAt: deps.clock.now().toISOString(),
      nodes: reports,
    };
  };
  if (jobNodes.length === 0) return finish([]);
  if (signal?.aborted) throw new AbortedError();

  const labels = swarmLabels(spec.helper, { runId, version: DTOOL_VERSION, owner: deps.owner });
  const createdSecrets: string[] = [];
  let serviceId: string | undefined;
  // Until every task is known to have succeeded, a failed one's parked retry may follow.
  let everyTaskSucceeded = false;
  try {
    const secrets: Record<string, { id: string; name: string }> = {};
    for (const secret of spec.secrets ?? []) {
      const secretFullName = secretName(runId, secret.name);
      const id = await docker.createSecret({ name: secretFullName, data: secret.content, labels });
      createdSecrets.push(id);
      secrets[secret.name] = { id, name: secretFullName };
    }
    // The user's constraints, and every selected node that cannot take part named out.
    const constraints = [
      ...(options.constraints ?? []).map((c) => c.text),
      ...selected.filter((n) => excluded.has(n.id)).map((n) => `node.id!=${n.id}`),
    ];
    const serviceOptions = toServiceSpec(spec, {
      runId,
      version: DTOOL_VERSION,
      owner: deps.owner,
      mode: options.mode,
      image: source.reference,
      constraints,
      secrets,
    });
    serviceId = await docker.createService(serviceOptions);
    reporter({ type: 'helper.start', helper: spec.helper, runId, containerId: serviceId });
    const outcomes = await waitForTasks(deps, serviceId, jobNodes, options.mode, timeoutMs, options.pollIntervalMs ?? 1000);
    if (signal?.aborted) throw new AbortedError('interrupted; the swarm job was removed');
    // A node being stopped kills its task first and is seen down only later: a task that
    // failed on a node that is down by now failed because the node went down.
    const downNow = new Set((await docker.listNodes()).filter((n) => n.state === 'down').map((n) => n.id));
    for (const [nodeId, outcome] of outcomes) {
      const succeeded = outcome.task?.state === 'complete' && (outcome.task.exitCode ?? 0) === 0;
      if (downNow.has(nodeId) && !succeeded && !outcome.stopped) outcomes.set(nodeId, { ...outcome, stopped: 'down' });
    }

    const ran = await mapConcurrent([...outcomes], LOGS_CONCURRENCY, async ([nodeId, outcome]) => {
      const node = byId.get(nodeId) ?? {
        id: nodeId,
        hostname: nodeId || '(no node)',
        role: 'worker',
        availability: '',
        state: '',
        labels: {},
        address: '',
        os: '',
        arch: '',
      };
      let logs: TaskLogs | undefined;
      if (outcome.task && outcome.stopped !== 'down' && outcome.task.containerId) {
        logs = await docker.taskLogs(outcome.task.id, { limitBytes: OUTPUT_LIMIT_BYTES, timeoutMs: LOGS_TIMEOUT_MS }).catch((error: unknown) => {
          reporter({ type: 'warning', message: `could not read the output of ${spec.helper} on ${node.hostname}: ${(error as Error).message}` });
          return undefined;
        });
      }
      return taskReport(node, outcome, logs, timeoutMs);
    });
    everyTaskSucceeded = ran.every((r) => r.status === 'ok');
    return finish(ran);
  } finally {
    if (serviceId !== undefined) {
      try {
        await docker.removeService(serviceId);
        await removeTaskContainers(deps, runId, jobNodes, selfNodeId, !everyTaskSucceeded);
      } catch (error) {
        reporter({
          type: 'warning',
          message: `could not remove swarm service ${name}: ${(error as Error).message} (dtool prune --swarm removes it)`,
        });
      }
    }
    for (const id of createdSecrets) {
      try {
        await docker.removeSecret(id);
      } catch (error) {
        reporter({
          type: 'warning',
          message: `could not remove swarm secret ${id.slice(0, 12)}: ${(error as Error).message} (dtool prune --swarm removes it)`,
        });
      }
    }
  }
}
