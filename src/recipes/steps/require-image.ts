import type { Deps } from '../../deps.js';
import type { ImageDetails } from '../../docker/port.js';
import { NotFoundError } from '../../errors.js';

/** The image must be on the engine already: dtool builds, loads or commits, and never pulls. */
export async function requireImage(deps: Deps, reference: string, step: string): Promise<ImageDetails> {
  const image = await deps.docker.inspectImage(reference);
  if (!image) {
    throw new NotFoundError(`step ${step}: image ${reference} is not on this engine`, {
      hint: 'dtool never pulls: build it, load it, or name an image the engine has',
    });
  }
  return image;
}

/** dtool's own images run dtool-guard first, so they stop when dtool is gone. */
export const isDtoolImage = (image: ImageDetails): boolean => 'dtool.image' in image.labels;
