import type { Command } from 'commander';
import type { BuiltImage } from '../../run/build-image.js';
import type { CommandContext } from '../context.js';
import { renderBuiltImages, renderJson } from '../render.js';

export function registerImages(program: Command, context: CommandContext): void {
  const images = program.command('images').description('helper images');
  images
    .command('build')
    .description('build helper images (all, or those named); unchanged images are not rebuilt')
    .argument('[names...]', 'image folders under images/')
    .option('--force', 'rebuild even when an image of the same content exists')
    .option('--json', 'print the result as JSON')
    .action(async (names: string[], options: { force?: boolean; json?: boolean }, command: Command) => {
      const deps = await context.deps(command);
      const built: BuiltImage[] = [];
      for (const name of names.length ? names : await deps.images.names()) {
        built.push(await deps.images.build(name, { ...(options.force ? { force: true } : {}), signal: context.signal }));
      }
      context.io.stdout(options.json ? renderJson(built) : renderBuiltImages(built));
    });
}
