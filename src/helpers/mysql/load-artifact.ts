/** Loading an artifact into a server through the restore helper: shared by restore and --verify. */
import { basename } from 'node:path';
import type { Deps } from '../../deps.js';
import type { HelperMount, HelperNetwork, HelperRunSpec } from '../../core/helper-spec.js';
import { MYSQL_TOOLS_IMAGE, asHostUser, runMysqlTool } from './common.js';
import { lastJsonLine } from './helper-errors.js';

const RESTORE_MOUNT = '/restore';
const SCRATCH_MOUNT = '/scratch';

export function restoreHelperSpec(options: {
  readonly image: string;
  readonly artifactPath: string;
  readonly clientCnf: string;
  readonly network: HelperNetwork;
  /** A mydumper tarball is unpacked before myloader reads it: on scratch space on the engine's disk. */
  readonly scratch?: boolean;
}): HelperRunSpec {
  const mounts: HelperMount[] = [
    { type: 'bind', source: options.artifactPath, target: `${RESTORE_MOUNT}/${basename(options.artifactPath)}`, readOnly: true },
  ];
  // An anonymous volume (removed with the helper), not the helper's small tmpfs nor a folder
  // of the caller's (the engine may be remote). The image's /scratch is 1777, and a new
  // volume takes that mode, so the helper's non-root user can write there.
  if (options.scratch) mounts.push({ type: 'volume', target: SCRATCH_MOUNT, readOnly: false });
  return {
    helper: 'mysql-restore',
    image: options.image,
    command: [
      'dtool-restore',
      '--from',
      `${RESTORE_MOUNT}/${basename(options.artifactPath)}`,
      ...(options.scratch ? ['--scratch', SCRATCH_MOUNT] : []),
    ],
    ...asHostUser(),
    mounts,
    secrets: [{ name: 'client.cnf', content: options.clientCnf }],
    network: options.network,
  };
}

/** Loads an artifact into the server reachable through `network` with `clientCnf`. */
export async function loadArtifact(
  deps: Deps,
  options: { readonly artifactPath: string; readonly clientCnf: string; readonly network: HelperNetwork; readonly targetName: string },
): Promise<void> {
  const { reference: image } = await deps.images.ensure(MYSQL_TOOLS_IMAGE);
  const scratch = /\.tar(\.zst|\.gz)?$/.test(options.artifactPath);
  const result = await runMysqlTool(deps, restoreHelperSpec({ image, ...options, scratch }), options.targetName);
  lastJsonLine<{ restored: boolean }>(result.stdout, result.helper);
}
