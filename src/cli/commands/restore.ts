import type { Command } from 'commander';
import type { RawRestoreOptions } from '../../helpers/mysql/restore.js';
import type { CommandContext } from '../context.js';
import { renderJson, renderRestoreReport } from '../render.js';

export function registerRestore(program: Command, context: CommandContext): void {
  program
    .command('restore')
    .description('load a dtool backup into a running MariaDB/MySQL container')
    .option('--link <container>', 'the target container')
    .option('--from <file>', 'a backup file (.sql, .sql.zst, .sql.gz, or a mydumper .tar*)')
    .option('--credentials <file>', 'my.cnf ([client] user/password) or dbcreds.yml (USER:/PASS:)')
    .option('--force', 'restore a file that has no manifest to check it against')
    .option('--json', 'print the report as JSON')
    .action(async (options: RawRestoreOptions & { json?: boolean }, command: Command) => {
      const { parseRestoreParams, restore } = await import('../../helpers/mysql/restore.js');
      const params = parseRestoreParams(options, context.io.cwd);
      const report = await restore(await context.deps(command), params);
      context.io.stdout(options.json ? renderJson(report) : renderRestoreReport(report));
    });
}
