/**
 * One run per instant, even with several schedulers on one engine (on one host or on
 * several hosts sharing it). Before an instant, each scheduler tries to create a container
 * named `dtool-job-<job>-<instant>`; the engine accepts exactly one creator of a name and
 * refuses the others (409), so exactly one runs the instant. The claim is never started; it
 * outlives the run (an AutoRemove helper would vanish, and a late scheduler could then
 * claim the instant again) until no scheduler would still start that instant: its job's
 * starting deadline plus a minute. Then the claim sweep removes it.
 *
 * Chosen over a host-wide lock on the state folder because it also holds across hosts that
 * share an engine; the state folder's lock still keeps one scheduler per folder.
 */
import type { DockerPort } from '../docker/port.js';
import { LABEL_MANAGED } from '../docker/labels.js';
import { DtoolError } from '../errors.js';

export const LABEL_CLAIM_JOB = 'dtool.claim.job';
export const LABEL_CLAIM_INSTANT = 'dtool.claim.instant';
export const LABEL_CLAIM_EXPIRES = 'dtool.claim.expires';
/** Kept past the starting deadline, for schedulers whose clocks disagree a little. */
export const CLAIM_MARGIN_MS = 60_000;

export function claimName(job: string, instant: Date): string {
  return `dtool-job-${job}-${Math.floor(instant.getTime() / 1000)}`;
}

/** Resolves true when this scheduler won the instant. */
export async function claimInstant(
  docker: DockerPort,
  options: { readonly image: string; readonly version: string },
  job: { readonly name: string; readonly startingDeadlineMs: number },
  instant: Date,
): Promise<boolean> {
  const expires = new Date(instant.getTime() + job.startingDeadlineMs + CLAIM_MARGIN_MS);
  try {
    await docker.createContainer({
      name: claimName(job.name, instant),
      Image: options.image,
      Cmd: ['true'],
      Labels: {
        [LABEL_MANAGED]: options.version,
        [LABEL_CLAIM_JOB]: job.name,
        [LABEL_CLAIM_INSTANT]: instant.toISOString(),
        [LABEL_CLAIM_EXPIRES]: expires.toISOString(),
      },
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

/** Removes expired claims; returns how many. */
export async function sweepClaims(docker: DockerPort, now: Date): Promise<number> {
  let removed = 0;
  for (const claim of await docker.listContainers({ labels: [LABEL_CLAIM_INSTANT], all: true })) {
    const expires = Date.parse(claim.labels[LABEL_CLAIM_EXPIRES] ?? '');
    if (Number.isNaN(expires) || now.getTime() > expires) {
      await docker.removeContainer(claim.id);
      removed++;
    }
  }
  return removed;
}
