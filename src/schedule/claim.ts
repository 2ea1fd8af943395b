/**
 * One run per instant, even with several schedulers on one engine (on one host or on
 * several hosts sharing it). Before an instant, each scheduler tries to create a container
 * named `dtool-job-<job>-<instant>`; the engine accepts exactly one creator of a name and
 * refuses the others (409), so exactly one runs the instant. The claim is never started; it
 * outlives the run (an AutoRemove helper would vanish, and a late scheduler could then
 * claim the instant again) and is swept after CLAIM_TTL_MS.
 *
 * Chosen over a host-wide lock on the state folder because it also holds across hosts that
 * share an engine; the state folder's lock still keeps one scheduler per folder.
 */
import type { DockerPort } from '../docker/port.js';
import { LABEL_MANAGED } from '../docker/labels.js';
import { DtoolError } from '../errors.js';

export const LABEL_CLAIM_JOB = 'dtool.claim.job';
export const LABEL_CLAIM_INSTANT = 'dtool.claim.instant';
/** Long enough that no catch-up (starting deadline) can reach an instant whose claim is gone. */
export const CLAIM_TTL_MS = 2 * 24 * 3_600_000;

export function claimName(job: string, instant: Date): string {
  return `dtool-job-${job}-${Math.floor(instant.getTime() / 1000)}`;
}

/** Resolves true when this scheduler won the instant. */
export async function claimInstant(docker: DockerPort, options: { image: string; version: string }, job: string, instant: Date): Promise<boolean> {
  try {
    await docker.createContainer({
      name: claimName(job, instant),
      Image: options.image,
      Cmd: ['true'],
      Labels: { [LABEL_MANAGED]: options.version, [LABEL_CLAIM_JOB]: job, [LABEL_CLAIM_INSTANT]: instant.toISOString() },
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: false,
      HostConfig: { NetworkMode: 'none' },
    });
    return true;
  } catch (error) {
    if (error instanceof DtoolError && error.code === 'CONFLICT') return false;
    throw error;
  }
}

/** Removes claims older than CLAIM_TTL_MS; returns how many. */
export async function sweepClaims(docker: DockerPort, now: Date): Promise<number> {
  let removed = 0;
  for (const claim of await docker.listContainers({ labels: [LABEL_CLAIM_INSTANT], all: true })) {
    const instant = Date.parse(claim.labels[LABEL_CLAIM_INSTANT] ?? '');
    if (Number.isNaN(instant) || now.getTime() - instant > CLAIM_TTL_MS) {
      await docker.removeContainer(claim.id);
      removed++;
    }
  }
  return removed;
}
