import type { Command } from 'commander';
import type { RawDbInitOptions } from '../../helpers/mysql/db-init.js';
import { collect, type CommandContext } from '../context.js';
import { parseSwarmOptions, type RawSwarmOptions } from '../swarm-options.js';
import { renderDbInitReport, renderJson } from '../render.js';

type DbInitOptions = RawDbInitOptions & RawSwarmOptions & { json?: boolean };

export function registerDbInit(program: Command, context: CommandContext): void {
  program
    .command('db-init')
    .description('ensure a database, user, grants and root password; apply each seed once')
    .option('--link <container[:alias]>', 'a running server')
    .option('--datadir-volume <volume>', 'initialise (or update) a data volume instead')
    .option('--database <name>', 'the database to ensure')
    .option('--user <name>', 'a user granted all privileges on the database')
    .option('--password-file <file>', "the user's password")
    .option('--root-password-file <file>', "root's password (also how --link connects, unless --credentials)")
    .option('--credentials <file>', 'admin credentials for --link (my.cnf or dbcreds.yml)')
    .option('--seed <file.sql>', 'SQL applied once, in order (repeatable)', collect)
    .option('--swarm', "--link names a swarm service: initialise it from the node that runs it, through that node's engine")
    .option('--constraint <expr>', 'with --swarm: only a task on a node matching, e.g. node.hostname==db1 (repeatable)', collect)
    .option('--json', 'print the report as JSON')
    .action(async (options: DbInitOptions, command: Command) => {
      const { dbInit, dbInitReportError, parseDbInitParams } = await import('../../helpers/mysql/db-init.js');
      const params = parseDbInitParams(options, context.io.cwd);
      const swarm = parseSwarmOptions(options);
      const deps = await context.deps(command);
      const report = swarm ? await (await import('../../helpers/mysql/on-swarm.js')).dbInitOnSwarm(deps, params, swarm) : await dbInit(deps, params);
      context.io.stdout(options.json ? renderJson(report) : renderDbInitReport(report));
      const conflict = dbInitReportError(report);
      if (conflict) throw conflict;
    });
}
