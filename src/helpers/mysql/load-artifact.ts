/** Loading an artifact into a server through the restore helper: shared by restore and --verify. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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
  readonly scratchDir?: string;
}): HelperRunSpec {
  const mounts: HelperMount[] = [
    { type: 'bind', source: options.artifactPath, target: `${RESTORE_MOUNT}/${basename(options.artifactPath)}`, readOnly: true },
  ];
  if (options.scratchDir) mounts.push({ type: 'bind', source: options.scratchDir, target: SCRATCH_MOUNT, readOnly: false });
  return {
    helper: 'mysql-restore',
    image: options.image,
    command: [
      'dtool-restore',
      '--from',
      `${RESTORE_MOUNT}/${basename(options.artifactPath)}`,
      ...(options.scratchDir ? ['--scratch', SCRATCH_MOUNT] : []),
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
  // A mydumper tarball is unpacked before myloader reads it; give it host disk, not the helper's small tmpfs.
  const isTarball = /\.tar(\.zst|\.gz)?$/.test(options.artifactPath);
  const scratchDir = isTarball ? await mkdtemp(join(tmpdir(), 'dtool-restore-')) : undefined;
  try {
    const result = await runMysqlTool(deps, restoreHelperSpec({ image, ...options, ...(scratchDir ? { scratchDir } : {}) }), options.targetName);
    lastJsonLine<{ restored: boolean }>(result.stdout, result.helper);
  } finally {
    if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
  }
}
