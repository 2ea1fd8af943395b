import type { Command } from 'commander';
import type { RawDnsRebuildOptions } from '../../helpers/dns/index.js';
import type { CommandContext } from '../context.js';
import { defaultStateDir } from '../../host/state-dir.js';
import { lockWaitMs, printRecipeReport } from './recipe.js';

export function registerDns(program: Command, context: CommandContext): void {
  const dns = program.command('dns').description('a BIND DNS server whose config is generated, checked and baked into its image');
  dns
    .command('rebuild')
    .description('two-pass rebuild: render named.conf from the zones spec and labelled containers, check it, bake it in, swap the server')
    .option('--zones <file>', 'zones spec (YAML): zones, SOA/NS and records')
    .option('--network <name>', 'the network the server joins, and on which labelled containers get their A records (default bridge)')
    .option('--name <container>', 'the DNS server container (default dtool-dns)')
    .option('--publish <port>', 'publish the server on this host port, UDP and TCP (default: not published)')
    .option('--state-dir <dir>', 'recipe locks and validation memory (default /var/lib/dtool/recipes as root, else ~/.local/state/dtool/recipes)')
    .option('--lock-wait <seconds>', 'wait this long for another rebuild of the same server (default: fail at once)')
    .option('--json', 'print the report as JSON')
    .action(async (options: RawDnsRebuildOptions & { json?: boolean; stateDir?: string; lockWait?: string }, command: Command) => {
      const { dnsRebuild, parseDnsRebuildParams } = await import('../../helpers/dns/index.js');
      const params = parseDnsRebuildParams(options, context.io.cwd);
      const report = await dnsRebuild(await context.deps(command), params, {
        stateDir: options.stateDir ?? defaultStateDir(context.io.env, 'recipes'),
        lockWaitMs: lockWaitMs(options.lockWait),
      });
      await printRecipeReport(context, report, options.json ?? false);
    });
}
