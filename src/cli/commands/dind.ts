import type { Command } from 'commander';
import type { RawBuildInstallOptions } from '../../helpers/dind/build-install.js';
import type { RawDindBuildOptions } from '../../helpers/dind/build.js';
import { defaultStateDir } from '../../host/state-dir.js';
import { collect, type CommandContext } from '../context.js';
import { renderBuildInstallReport, renderDindBuildReport, renderJson, table } from '../render.js';

export function registerDind(program: Command, context: CommandContext): void {
  const dind = program.command('dind').description('Docker-in-Docker (Debian docker.io): build images with no registry; needs --allow privileged');
  dind
    .command('build')
    .description('build CONTEXT inside DinD and write the image tar to FILE atomically (with FILE.json: sha256, image id)')
    .argument('<context>', 'build context folder (.dockerignore honoured)')
    .option('--tag <name>', 'the image name, e.g. app:1.0')
    .option('--out <file>', 'where the image tar goes (its folder must exist)')
    .option('-f, --file <dockerfile>', 'the Dockerfile inside the context (default Dockerfile)')
    .option('--seed-image <image>', 'also copy this host image into the inner daemon (repeatable; FROM images are copied anyway)', collect)
    .option('--build-arg <name=value>', 'a build argument (repeatable)', collect)
    .option('--load', 'load the tar into this engine and check the image id')
    .option('--cache <volume>', 'the volume keeping inner layers (default: one per context)')
    .option('--no-cache', 'a throwaway inner daemon: a clean build')
    .option('--json', 'print the report as JSON')
    .action(async (contextDir: string, options: RawDindBuildOptions & { json?: boolean }, command: Command) => {
      const { dindBuild, parseDindBuildParams } = await import('../../helpers/dind/build.js');
      const params = parseDindBuildParams(contextDir, options, context.io.cwd);
      const report = await dindBuild(await context.deps(command), params, { lockDir: defaultStateDir(context.io.env, 'dind') });
      context.io.stdout(options.json ? renderJson(report) : renderDindBuildReport(report));
    });
  const cache = dind.command('cache').description('the named volumes that keep DinD layers between builds');
  cache
    .command('ls')
    .description('list the DinD cache volumes')
    .option('--json', 'print them as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { listDindCaches } = await import('../../helpers/dind/cache.js');
      const caches = await listDindCaches(await context.deps(command));
      context.io.stdout(options.json ? renderJson(caches) : `${table([['VOLUME', 'CONTEXT'], ...caches.map((c) => [c.name, c.context])])}\n`);
    });
  cache
    .command('rm')
    .description('remove DinD cache volumes (only volumes dtool labelled as such)')
    .argument('[volumes...]', 'volume names')
    .option('--all', 'remove every DinD cache volume')
    .action(async (volumes: string[], options: { all?: boolean }, command: Command) => {
      const { removeDindCaches } = await import('../../helpers/dind/cache.js');
      const removed = await removeDindCaches(await context.deps(command), volumes, options.all ?? false);
      context.io.stdout(removed.length ? `removed ${removed.join(', ')}\n` : 'nothing to remove\n');
    });

  program
    .command('build-install')
    .description('build CONTEXT and install one file or folder from the image into DIR, atomically (never bind-mounting DIR)')
    .argument('<context>', 'build context folder')
    .option('--artifact <path>', 'absolute path of the artifact in the image, e.g. /usr/local/bin/tool')
    .option('--to <dir>', 'the folder it is installed into (must exist)')
    .option('--via <builder>', 'host (the host engine builds; no privilege) or dind (--allow privileged)', 'host')
    .option('--mode <octal>', "permissions of the installed artifact (default: the image's)")
    .option('--force', 'replace a different existing file, keeping it as NAME.dtool-prev')
    .option('-f, --file <dockerfile>', 'the Dockerfile inside the context (default Dockerfile)')
    .option('--build-arg <name=value>', 'a build argument (repeatable)', collect)
    .option('--json', 'print the report as JSON')
    .action(async (contextDir: string, options: RawBuildInstallOptions & { json?: boolean }, command: Command) => {
      const { buildInstall, parseBuildInstallParams } = await import('../../helpers/dind/build-install.js');
      const params = parseBuildInstallParams(contextDir, options, context.io.cwd);
      const report = await buildInstall(await context.deps(command), params);
      context.io.stdout(options.json ? renderJson(report) : renderBuildInstallReport(report));
    });
}
