/**
 * What a scheduled job can run: the helper families, by name, with their parameters
 * checked the way the CLI checks its flags. This is the one place that joins the
 * scheduler to the families (neither imports the other), and families load only when a
 * job of theirs is checked or run.
 *
 * Parameter names are the CLI's flags without the dashes (`keep-days`, `volumes-from`);
 * values are strings, booleans or lists, as in YAML or labels.
 */
import type { Deps } from './deps.js';
import { defaultStateDir } from './host/state-dir.js';
import { UsageError, exitCodeFor, toDtoolError, type DtoolError } from './errors.js';
import type { RunEvent } from './events.js';
import { type JobKindCatalog, type JobParams, SWARM_PARAMS } from './schedule/job.js';
import type { RunContext, RunOutcome } from './schedule/scheduler.js';
import type { SwarmJobReport } from './swarm/report.js';

interface JobKind {
  /** The parameters it takes, as written in schedule files and labels. */
  readonly params: readonly string[];
  /** Whether a job of this kind can run as a Swarm job (`swarm:`, handed over as the swarm parameters). */
  readonly swarm?: boolean;
  /** Validates the parameters (throws a UsageError) and returns the run. */
  prepare(
    params: Readonly<Record<string, unknown>>,
    cwd: string,
  ): Promise<(deps: Deps) => Promise<{ summary: string; error?: DtoolError; figures?: Readonly<Record<string, number>> }>>;
}

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/**
 * A job's `swarm:` setting (schedule/job.ts) reaches a kind as `swarm: true` with `constraint`
 * and `registry`, checked here as the CLI checks its flags; `with:` cannot set them.
 */

async function swarmSettings(raw: Readonly<Record<string, unknown>>) {
  const { parseSwarmSettings } = await import('./swarm/options.js');
  return parseSwarmSettings({ swarm: raw.swarm, constraint: raw.constraint, registry: raw.registry }, (name) => name);
}

async function swarmOutcome(report: SwarmJobReport): Promise<{ summary: string; error?: DtoolError }> {
  const { swarmReportError } = await import('./swarm/report.js');
  const error = swarmReportError(report);
  const ok = report.nodes.filter((n) => n.status === 'ok').length;
  return { summary: `${ok} of ${report.nodes.length} swarm node${report.nodes.length === 1 ? '' : 's'} ok`, ...(error ? { error } : {}) };
}

const KINDS: Record<string, JobKind> = {
  backup: {
    params: [
      'link',
      'label',
      'out',
      'credentials',
      'databases',
      'engine',
      'compress',
      'concurrency',
      'threads',
      'keep',
      'keep-days',
      'verify',
      'timeout',
      'lock-wait',
    ],
    // With swarm: each link names a service, backed up on the node that runs it (on-swarm.ts).
    swarm: true,
    async prepare(raw, cwd) {
      const { swarm: _swarm, constraint: _constraint, registry: _registry, ...rest } = raw;
      const family = await import('./helpers/mysql/backup.js');
      const params = family.parseBackupParams(rest, cwd);
      const swarm = await swarmSettings(raw);
      const onSwarm = swarm ? await import('./helpers/mysql/on-swarm.js') : undefined;
      return async (deps) => {
        const report = swarm && onSwarm ? await onSwarm.backupOnSwarm(deps, params, swarm) : await family.backup(deps, params);
        const ok = report.targets.filter((t) => t.status === 'ok').length;
        const error = family.backupReportError(report);
        return {
          summary: `${ok} of ${report.targets.length} target${report.targets.length === 1 ? '' : 's'} backed up`,
          ...(error ? { error } : {}),
        };
      };
    },
  },
  logrotate: {
    params: [
      'volumes-from',
      'label',
      'path',
      'rotate',
      'daily',
      'weekly',
      'frequency',
      'size',
      'compress',
      'delaycompress',
      'mode',
      'signal',
      'force',
      'concurrency',
    ],
    swarm: true,
    async prepare(raw, cwd) {
      const family = await import('./helpers/logrotate/index.js');
      const { swarm: _swarm, constraint: _constraint, registry: _registry, ...rest } = raw;
      const swarm = await swarmSettings(raw);
      if (swarm) {
        const onSwarm = await import('./helpers/logrotate/swarm.js');
        const params = onSwarm.parseSwarmLogrotateParams(rest, cwd);
        return async (deps) => swarmOutcome(await onSwarm.logrotateOnSwarm(deps, params, swarm));
      }
      const params = family.parseLogrotateParams(rest, cwd);
      return async (deps) => {
        const report = await family.logrotate(deps, params);
        const error = family.logrotateReportError(report);
        return { summary: family.summarizeLogrotateReport(report), ...(error ? { error } : {}) };
      };
    },
  },
};

/** Recipes run from the scheduler keep their locks and validation memory where the CLI's do. */
const recipeStateDir = () => defaultStateDir(process.env, 'recipes');

const lockWait = (value: unknown): number => {
  if (value === undefined) return 0;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 0) throw new UsageError(`lock-wait expects whole seconds, not "${String(value)}"`);
  return seconds * 1000;
};

const recipeSummary = (report: { readonly status: string; readonly steps: readonly { readonly status: string }[] }): string =>
  `${report.status}: ${report.steps.filter((s) => s.status === 'done').length} of ${report.steps.length} steps did work`;

KINDS.recipe = {
  params: ['file', 'var', 'lock-wait'],
  async prepare(raw, cwd) {
    const [{ loadRecipe }, { parseVarFlags }, recipes] = await Promise.all([
      import('./recipes/load.js'),
      import('./recipes/parse.js'),
      import('./recipes/execute.js'),
    ]);
    if (typeof raw.file !== 'string') throw new UsageError('recipe needs file: the recipe (YAML)');
    const values = raw.var === undefined ? [] : Array.isArray(raw.var) ? raw.var.map(String) : [String(raw.var)];
    const recipe = await loadRecipe(raw.file, cwd);
    const vars = parseVarFlags(values);
    const lockWaitMs = lockWait(raw.lockWait);
    return async (deps) => {
      const report = await recipes.runRecipe(deps, recipe, { vars, stateDir: recipeStateDir(), lockWaitMs });
      const error = recipes.recipeReportError(report);
      return { summary: recipeSummary(report), ...(error ? { error } : {}) };
    };
  },
};

KINDS['dns-rebuild'] = {
  params: ['zones', 'network', 'name', 'publish', 'lock-wait'],
  async prepare(raw, cwd) {
    const [family, recipes] = await Promise.all([import('./helpers/dns/index.js'), import('./recipes/execute.js')]);
    const params = family.parseDnsRebuildParams(
      {
        ...(raw.zones !== undefined ? { zones: String(raw.zones) } : {}),
        ...(raw.network !== undefined ? { network: String(raw.network) } : {}),
        ...(raw.name !== undefined ? { name: String(raw.name) } : {}),
        ...(raw.publish !== undefined ? { publish: String(raw.publish) } : {}),
      },
      cwd,
    );
    const lockWaitMs = lockWait(raw.lockWait);
    return async (deps) => {
      const report = await family.dnsRebuild(deps, params, { stateDir: recipeStateDir(), lockWaitMs });
      const error = recipes.recipeReportError(report);
      return { summary: recipeSummary(report), ...(error ? { error } : {}) };
    };
  },
};

KINDS['host-info'] = {
  params: ['path'],
  swarm: true,
  async prepare(raw, cwd) {
    const family = await import('./helpers/host/info.js');
    const paths = raw.path === undefined ? [] : Array.isArray(raw.path) ? raw.path.map(String) : [String(raw.path)];
    const swarm = await swarmSettings(raw);
    if (swarm) {
      const { hostInfoOnSwarm } = await import('./helpers/host/swarm.js');
      return async (deps) => swarmOutcome(await hostInfoOnSwarm(deps, paths, swarm));
    }
    return async (deps) => {
      const info = await family.hostInfo(deps, paths, cwd);
      return { summary: family.summarizeHostInfo(info), figures: family.hostInfoFigures(info) };
    };
  },
};

function toRawOptions(kind: string, params: JobParams): Record<string, unknown> {
  const { params: named, swarm } = KINDS[kind]!;
  const known = swarm ? [...named, ...SWARM_PARAMS] : named;
  const raw: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    if (!known.includes(name)) throw new UsageError(`${kind} has no parameter "${name}" (known: ${named.join(', ')})`);
    raw[camel(name)] = value;
  }
  return raw;
}

export interface JobKinds extends JobKindCatalog {
  /** Checks a job's parameters, loading its family (async: families load lazily). */
  checkAsync(kind: string, params: JobParams): Promise<void>;
  /** Runs one job instant with the run's signal; never throws: failures are outcomes. */
  run(deps: Deps, context: RunContext): Promise<RunOutcome>;
}

export function createJobKinds(cwd: string): JobKinds {
  return {
    names: Object.keys(KINDS),
    swarm: Object.keys(KINDS).filter((name) => KINDS[name]!.swarm),
    // Synchronous part of the check: parameter names. Values are checked by checkAsync.
    check: (kind, params) => void toRawOptions(kind, params),
    checkAsync: async (kind, params) => void (await KINDS[kind]!.prepare(toRawOptions(kind, params), cwd)),
    async run(deps, context) {
      const output: string[] = [];
      const reporter = (event: RunEvent): void => {
        if (event.type === 'helper.output' && event.stream === 'stderr') output.push(`${event.helper}: ${event.line}`);
        if (output.length > 200) output.splice(0, output.length - 100);
        deps.reporter(event);
      };
      try {
        const run = await KINDS[context.job.kind]!.prepare(toRawOptions(context.job.kind, context.job.params), cwd);
        const { summary, error, figures } = await run({ ...deps, reporter, signal: context.signal });
        if (!error) return { ok: true, exitCode: 0, summary, ...(figures ? { figures } : {}) };
        return { ok: false, exitCode: exitCodeFor(error), summary: error.message, outputTail: [...error.details, ...output].slice(-20) };
      } catch (caught) {
        const error = toDtoolError(caught);
        return { ok: false, exitCode: exitCodeFor(error), summary: error.message, outputTail: [...error.details, ...output].slice(-20) };
      }
    },
  };
}
