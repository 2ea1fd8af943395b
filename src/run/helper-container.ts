/**
 * A helper's container, created with its secret files on disk. Disposing it removes the
 * container (a failure to do so is a warning, not an error) and then the secret files.
 */
import { randomBytes } from 'node:crypto';
import type { Deps } from '../deps.js';
import { toCreateOptions } from '../core/to-create-options.js';
import type { HelperRunSpec } from '../core/helper-spec.js';
import { writeSecretFiles } from '../host/secret-files.js';
import { DTOOL_VERSION } from '../version.js';

export interface HelperContainer extends AsyncDisposable {
  readonly id: string;
  readonly runId: string;
}

export function newRunId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function createHelperContainer(deps: Deps, spec: HelperRunSpec): Promise<HelperContainer> {
  const runId = newRunId();
  const secretFiles = await writeSecretFiles(spec.secrets ?? []);
  try {
    // Checks the privilege grants before any Docker call.
    const options = toCreateOptions(spec, {
      runId,
      version: DTOOL_VERSION,
      grants: new Set(deps.config.grants),
      privilegedMode: deps.config.privilegedMode,
      secretFiles: secretFiles.paths,
    });
    const id = await deps.docker.createContainer({ ...options, name: `dtool-${spec.helper}-${runId}` });
    return {
      id,
      runId,
      [Symbol.asyncDispose]: async () => {
        try {
          await deps.docker.removeContainer(id);
        } catch (error) {
          deps.reporter({ type: 'warning', message: `could not remove helper container ${id.slice(0, 12)}: ${(error as Error).message}` });
        } finally {
          await secretFiles[Symbol.asyncDispose]();
        }
      },
    };
  } catch (error) {
    await secretFiles[Symbol.asyncDispose]();
    throw error;
  }
}
