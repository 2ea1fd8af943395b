import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import { defaultStateDir } from '../../host/state-dir.js';
import { renderJson, table } from '../render.js';

interface RunOptions {
  readonly stateDir?: string;
  readonly listen?: string;
  readonly maxConcurrent?: string;
  readonly labels?: boolean;
  readonly standby?: boolean;
  readonly grace?: string;
}

function scheduleStateDir(env: Readonly<Record<string, string | undefined>>): string {
  return env.DTOOL_STATE_DIR ?? defaultStateDir(env, 'schedule');
}

function positive(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new UsageError(`${flag} expects a whole number of at least 1, not "${value}"`);
  return n;
}

export function registerSchedule(program: Command, context: CommandContext): void {
  const schedule = program.command('schedule').description('run helpers on schedules: from schedule files and container labels');
  const stateOption = (command: Command) =>
    command.option(
      '--state-dir <dir>',
      'where run history is kept (default: $DTOOL_STATE_DIR, /var/lib/dtool/schedule as root, else ~/.local/state/dtool/schedule)',
    );

  stateOption(
    schedule
      .command('run')
      .description('run the scheduler until SIGTERM/SIGINT')
      .argument('[files...]', 'schedule files (YAML)')
      .option('--listen <host:port>', 'serve /healthz, /ready and /metrics here (loopback only)')
      .option('--max-concurrent <n>', 'runs at once, all jobs together', '4')
      .option('--no-labels', 'ignore dtool.job.* container labels')
      .option('--standby', 'wait for the state folder if another scheduler holds it, and take over when it stops')
      .option('--grace <seconds>', 'on shutdown, how long running helpers get to finish before they are killed', '30'),
  ).action(async (files: string[], options: RunOptions, command: Command) => {
    const [{ runScheduleService }, { createJobKinds }] = await Promise.all([import('../../schedule/service.js'), import('../../job-kinds.js')]);
    if (files.length === 0 && options.labels === false) throw new UsageError('nothing to schedule: give a schedule file, or allow container labels');
    await runScheduleService(
      await context.deps(command),
      createJobKinds(context.io.cwd),
      {
        files,
        stateDir: options.stateDir ?? scheduleStateDir(context.io.env),
        ...(options.listen ? { listen: options.listen } : {}),
        maxConcurrent: positive(options.maxConcurrent, '--max-concurrent', 4),
        labels: options.labels !== false,
        standby: options.standby ?? false,
        graceMs: positive(options.grace, '--grace', 30) * 1000,
        log: (line) => context.io.stderr(`${line}\n`),
      },
      context.io.cwd,
    );
  });

  schedule
    .command('validate')
    .description('check schedule files and exit: every problem, with file, line, job and field')
    .argument('<files...>')
    .action(async (files: string[]) => {
      const [{ loadJobFiles }, { createJobKinds }] = await Promise.all([import('../../schedule/service.js'), import('../../job-kinds.js')]);
      const jobs = await loadJobFiles(files, createJobKinds(context.io.cwd), context.io.cwd);
      context.io.stdout(`${jobs.length} job${jobs.length === 1 ? '' : 's'} ok: ${jobs.map((j) => j.name).join(', ')}\n`);
    });

  schedule
    .command('next')
    .description("the next run times of each job, in the job's zone")
    .argument('<files...>')
    .option('-n <count>', 'how many per job', '5')
    .option('--json', 'print as JSON')
    .action(async (files: string[], options: { n?: string; json?: boolean }) => {
      const [{ loadJobFiles }, { createJobKinds }, { nextRuns }] = await Promise.all([
        import('../../schedule/service.js'),
        import('../../job-kinds.js'),
        import('../../schedule/next-runs.js'),
      ]);
      const jobs = await loadJobFiles(files, createJobKinds(context.io.cwd), context.io.cwd);
      const listing = nextRuns(jobs, new Date(), positive(options.n, '-n', 5));
      if (options.json) {
        context.io.stdout(renderJson(listing));
        return;
      }
      const rows = [['JOB', 'ZONE', 'NEXT RUNS (local time of the zone)']];
      for (const entry of listing) rows.push([entry.job, entry.tz, entry.local.join(', ')]);
      context.io.stdout(table(rows));
    });

  stateOption(
    schedule.command('status').description('jobs, next runs and recent history, from the state folder').option('--json', 'print as JSON'),
  ).action(async (options: { stateDir?: string; json?: boolean }) => {
    const { scheduleStatus, renderScheduleStatus } = await import('../../schedule/status.js');
    const status = await scheduleStatus(options.stateDir ?? scheduleStateDir(context.io.env));
    context.io.stdout(options.json ? renderJson(status) : renderScheduleStatus(status));
  });

  stateOption(
    schedule
      .command('run-now')
      .description('run one job now, in this process, and print its outcome')
      .argument('<job>')
      .argument('[files...]', 'schedule files that declare it (container labels are searched too)'),
  ).action(async (jobName: string, files: string[], options: { stateDir?: string }, command: Command) => {
    const { runJobNow } = await import('../../schedule/run-now.js');
    const { createJobKinds } = await import('../../job-kinds.js');
    const deps = await context.deps(command);
    const result = await runJobNow(
      deps,
      createJobKinds(context.io.cwd),
      { job: jobName, files, stateDir: options.stateDir ?? scheduleStateDir(context.io.env) },
      context.io.cwd,
    );
    context.io.stdout(
      `${result.record.job}: ${result.record.status} (${result.record.summary ?? ''})${result.recorded ? '' : ' [not recorded: another scheduler holds the state folder]'}\n`,
    );
    if (result.error) throw result.error;
  });
}
