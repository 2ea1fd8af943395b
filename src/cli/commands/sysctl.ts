import type { Command } from 'commander';
import type { SwarmSysctlStatusReport } from '../../helpers/sysctl/swarm.js';
import { UsageError, VerifyFailedError } from '../../errors.js';
import { defaultStateDir } from '../../host/state-dir.js';
import type { CommandContext } from '../context.js';
import { renderJson, renderSysctlReport, table } from '../render.js';
import { parseSwarmOptions, type RawSwarmOptions, withSwarmOptions } from '../swarm-options.js';

interface SetOptions {
  readonly dryRun?: boolean;
  readonly raiseOnly?: boolean;
  readonly persist?: boolean;
  readonly name?: string;
  readonly container?: string;
  readonly sysctlDir?: string;
  readonly stateDir?: string;
  readonly profile?: string;
  readonly run?: string;
  readonly json?: boolean;
  readonly swarm?: boolean;
}

/** `set --swarm` / `apply --swarm`: refused with the reason, before anything runs. */
async function refuseSwarmWrite(command: 'set' | 'apply', options: SetOptions): Promise<void> {
  if (!options.swarm) return;
  const { swarmWriteRefusal } = await import('../../helpers/sysctl/swarm.js');
  throw swarmWriteRefusal(command);
}

const PROFILE_NAME = /^[a-z0-9][a-z0-9-]*$/;

export function registerSysctl(program: Command, context: CommandContext): void {
  const sysctl = program
    .command('sysctl')
    .description(
      "the host's kernel settings from a container: no Privileged, all capabilities dropped, only /proc/sys writable (--allow host-sysctl)",
    );
  const stateDir = (options: SetOptions) => options.stateDir ?? defaultStateDir(context.io.env, 'sysctl');
  const withWriteOptions = (command: Command) =>
    command
      .option('--dry-run', 'show what would change; change nothing')
      .option('--raise-only', 'never lower a value (a lower one is kept, and reported)')
      .option('--persist', 'also write the drop-in /etc/sysctl.d/60-dtool-<name>.conf (atomically, through a mount of that folder only)')
      .option('--sysctl-dir <dir>', 'the drop-in folder (default /etc/sysctl.d)')
      .option('--state-dir <dir>', 'where previous values are recorded for revert (default /var/lib/dtool/sysctl as root)')
      .option('--json', 'print the report as JSON')
      .option('--swarm', "refused: a Swarm service cannot write /proc/sys; run it against each node's engine (DOCKER_HOST)");

  withWriteOptions(
    sysctl
      .command('set')
      .description('set kernel settings; previous values are recorded, each change read back')
      .argument('<settings...>', 'KEY=VALUE (vm.swappiness=10)')
      .option('--name <name>', 'the drop-in name for --persist (default manual)')
      .option('--container <name>', 'namespaced keys (IPC, net) for one container instead of the host: it is re-created with them'),
  ).action(async (settings: string[], options: SetOptions, command: Command) => {
    await refuseSwarmWrite('set', options);
    const tuner = await import('../../helpers/sysctl/tuner.js');
    const parsed = tuner.parseSettings(settings);
    if (options.container) {
      const report = await tuner.sysctlSetOnContainer(await context.deps(command), options.container, parsed, options.dryRun ?? false);
      context.io.stdout(
        options.json
          ? renderJson(report)
          : `${report.dryRun ? 'would re-create' : 're-created'} ${report.container} with ${report.settings.map((s) => `${s.key}=${s.value}`).join(', ')}\n`,
      );
      return;
    }
    const name = options.name ?? 'manual';
    if (!PROFILE_NAME.test(name)) throw new UsageError(`--name "${name}" must be lower case letters, digits and dashes`);
    const report = await tuner.sysctlSet(
      await context.deps(command),
      {
        settings: parsed,
        dryRun: options.dryRun ?? false,
        raiseOnly: options.raiseOnly ?? false,
        persist: options.persist ?? false,
        profile: name,
        sysctlDir: options.sysctlDir ?? '/etc/sysctl.d',
      },
      stateDir(options),
    );
    context.io.stdout(options.json ? renderJson(report) : renderSysctlReport(report));
  });

  withWriteOptions(
    sysctl
      .command('apply')
      .description('apply a sysctl profile (YAML): the settings of a kind of host')
      .requiredOption('--profile <file>', 'the profile'),
  ).action(async (options: SetOptions, command: Command) => {
    await refuseSwarmWrite('apply', options);
    const [tuner, { loadSysctlProfile }] = await Promise.all([
      import('../../helpers/sysctl/tuner.js'),
      import('../../helpers/sysctl/load-profile.js'),
    ]);
    const profile = await loadSysctlProfile(options.profile!, context.io.cwd);
    const report = await tuner.sysctlSet(
      await context.deps(command),
      {
        settings: profile.settings,
        dryRun: options.dryRun ?? false,
        raiseOnly: options.raiseOnly ?? false,
        persist: options.persist ?? false,
        profile: profile.name,
        sysctlDir: options.sysctlDir ?? '/etc/sysctl.d',
      },
      stateDir(options),
    );
    context.io.stdout(options.json ? renderJson(report) : renderSysctlReport(report));
  });

  sysctl
    .command('get')
    .description('read kernel settings (no privilege needed)')
    .argument('<keys...>', 'keys, e.g. vm.swappiness')
    .option('--json', 'print them as JSON')
    .action(async (keys: string[], options: SetOptions, command: Command) => {
      const tuner = await import('../../helpers/sysctl/tuner.js');
      const values = await tuner.readSysctls(
        await context.deps(command),
        keys.map((k) => k.replace(/\//g, '.')),
      );
      context.io.stdout(options.json ? renderJson(Object.fromEntries(values)) : [...values].map(([k, v]) => `${k} = ${v}\n`).join(''));
    });

  withSwarmOptions(
    sysctl
      .command('status')
      .description('drift: desired against actual, for a profile or for what dtool set and did not revert')
      .option('--profile <file>', 'the profile to compare with (with --swarm: required)')
      .option('--state-dir <dir>', 'where dtool recorded its runs')
      .option('--json', 'print the rows as JSON'),
  ).action(async (options: SetOptions & RawSwarmOptions, command: Command) => {
    const swarm = parseSwarmOptions(options);
    if (swarm) {
      if (!options.profile || options.stateDir)
        throw new UsageError(
          options.stateDir
            ? "--state-dir holds the runs of the engine dtool set values on, not the swarm's nodes: with --swarm, compare with --profile FILE"
            : 'sysctl status --swarm needs --profile FILE: the values every node should have',
        );
      const [family, { loadSysctlProfile }] = await Promise.all([
        import('../../helpers/sysctl/swarm.js'),
        import('../../helpers/sysctl/load-profile.js'),
      ]);
      const profile = await loadSysctlProfile(options.profile, context.io.cwd);
      const report = await family.sysctlStatusOnSwarm(await context.deps(command), { source: profile.file, settings: profile.settings }, swarm);
      context.io.stdout(options.json ? renderJson(report) : renderSwarmSysctlStatus(report));
      const failure = family.swarmSysctlStatusError(report);
      if (failure) throw failure;
      return;
    }
    const [tuner, { loadSysctlProfile }] = await Promise.all([
      import('../../helpers/sysctl/tuner.js'),
      import('../../helpers/sysctl/load-profile.js'),
    ]);
    const profile = options.profile ? await loadSysctlProfile(options.profile, context.io.cwd) : undefined;
    const rows = await tuner.sysctlStatus(
      await context.deps(command),
      stateDir(options),
      profile ? { source: profile.file, settings: profile.settings } : undefined,
    );
    if (options.json) context.io.stdout(renderJson(rows));
    else if (rows.length === 0) context.io.stdout('nothing desired: no profile given, and no dtool run in effect\n');
    else
      context.io.stdout(
        `${table([['KEY', 'DESIRED', 'ACTUAL', 'STATE', 'FROM'], ...rows.map((r) => [r.key, r.desired, r.actual, r.inSync ? 'in sync' : 'DRIFT', r.source])])}\n`,
      );
    const drifted = rows.filter((r) => !r.inSync);
    if (drifted.length) throw new VerifyFailedError(`${drifted.length} of ${rows.length} settings drifted: ${drifted.map((r) => r.key).join(', ')}`);
  });

  sysctl
    .command('revert')
    .description('put back exactly what one run changed (default: the latest not reverted), and remove its drop-in')
    .option('--run <id>', 'the run to revert')
    .option('--state-dir <dir>', 'where dtool recorded its runs')
    .option('--json', 'print the report as JSON')
    .action(async (options: SetOptions, command: Command) => {
      const tuner = await import('../../helpers/sysctl/tuner.js');
      const report = await tuner.sysctlRevert(await context.deps(command), stateDir(options), options.run);
      if (options.json) context.io.stdout(renderJson(report));
      else if (!report.runId) context.io.stdout('nothing to revert: no dtool sysctl run is in effect\n');
      else
        context.io.stdout(
          `reverted run ${report.runId}: ${report.restored.map((r) => `${r.key} = ${r.value}`).join(', ') || 'no value'}${report.removedDropIn ? `; removed ${report.removedDropIn}` : ''}\n`,
        );
    });
}

/** One row per node and key; a node without values gets one row with its status and error. */
function renderSwarmSysctlStatus(report: SwarmSysctlStatusReport): string {
  const rows = report.nodes.flatMap((n) =>
    n.rows
      ? n.rows.map((r) => [n.hostname, n.status, r.key, r.desired, r.actual, r.inSync ? 'in sync' : 'DRIFT', ''])
      : [[n.hostname, n.status, '-', '-', '-', '-', n.error?.message ?? '']],
  );
  return `${table([['NODE', 'STATUS', 'KEY', 'DESIRED', 'ACTUAL', 'STATE', 'ERROR'], ...rows])}\n`;
}
