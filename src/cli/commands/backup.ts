import type { Command } from 'commander';
import type { RawBackupOptions } from '../../helpers/mysql/backup.js';
import { collect, type CommandContext } from '../context.js';
import { parseSwarmOptions, type RawSwarmOptions } from '../swarm-options.js';
import { renderBackupReport, renderJson } from '../render.js';

export function registerBackup(program: Command, context: CommandContext): void {
  program
    .command('backup')
    .description('dump MariaDB/MySQL containers into DIR/<target>/, verified and atomic')
    .option('--link <container[:alias]>', 'a target container (repeatable)', collect)
    .option('--label <key=value>', 'select running containers by label (repeatable)', collect)
    .option('--out <dir>', "where backups go, on the Docker engine's host (one folder per target)")
    .option('--credentials <file>', 'my.cnf ([client] user/password) or dbcreds.yml (USER:/PASS:)')
    .option('--databases <a,b>', 'only these databases (default: all)')
    .option('--engine <engine>', 'mariadb-dump or mydumper', 'mariadb-dump')
    .option('--compress <kind>', 'zstd, gzip or none', 'zstd')
    .option('--concurrency <n>', 'targets dumped at once (in one helper container per network)', '1')
    .option('--threads <n>', 'mydumper threads (default: all CPUs)')
    .option('--keep <n>', 'keep the newest N backups per target')
    .option('--keep-days <d>', 'keep backups younger than D days (the newest is always kept)')
    .option('--verify', 'restore each new backup into a throwaway server and compare checksums')
    .option('--timeout <seconds>', "a target's time limit")
    .option('--lock-wait <seconds>', 'wait this long for a target another dtool run is backing up (default: fail at once)')
    .option('--fetch <dir>', 'also copy each new backup and its manifest here, on this machine (checked by sha256)')
    .option('--swarm', "--link names a swarm service: back it up on the node that runs it, through that node's engine")
    .option('--constraint <expr>', 'with --swarm: only a task on a node matching, e.g. node.hostname==db1 (repeatable)', collect)
    .option('--json', 'print the report as JSON')
    .action(async (options: RawBackupOptions & RawSwarmOptions & { json?: boolean }, command: Command) => {
      // Loaded only when the command runs: `dtool --help` pays for none of it.
      const { backup, backupReportError, parseBackupParams } = await import('../../helpers/mysql/backup.js');
      const params = parseBackupParams(options, context.io.cwd);
      const swarm = parseSwarmOptions(options);
      const deps = await context.deps(command);
      const report = swarm ? await (await import('../../helpers/mysql/on-swarm.js')).backupOnSwarm(deps, params, swarm) : await backup(deps, params);
      context.io.stdout(options.json ? renderJson(report) : renderBackupReport(report));
      const failure = backupReportError(report);
      if (failure) throw failure;
    });
}
