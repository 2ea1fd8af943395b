/** Every container and volume dtool creates carries these labels, so `dtool prune` can sweep by label only. */
import type { OwnerIdentity } from '../host/owner.js';

export const LABEL_HELPER = 'dtool.helper';
export const LABEL_RUN_ID = 'dtool.run-id';
/** Present on everything dtool owns; the value is the dtool version that created it. */
export const LABEL_MANAGED = 'dtool.managed';
export const LABEL_IMAGE = 'dtool.image';
export const LABEL_IMAGE_HASH = 'dtool.image-hash';
/**
 * On volumes dtool keeps on purpose between runs (e.g. logrotate's state), naming what they
 * hold. They carry no LABEL_MANAGED, so `dtool prune` never takes them for leftovers.
 */
export const LABEL_STATE = 'dtool.state';
/** The dtool process a helper belongs to (host/owner.ts): a helper outlives it only by accident. */
export const LABEL_OWNER_HOST = 'dtool.owner.host';
export const LABEL_OWNER_BOOT_ID = 'dtool.owner.boot-id';
export const LABEL_OWNER_PID = 'dtool.owner.pid';
export const LABEL_OWNER_START = 'dtool.owner.start-ticks';

export function helperLabels(helper: string, runId: string, version: string, owner: OwnerIdentity): Record<string, string> {
  return {
    [LABEL_MANAGED]: version,
    [LABEL_HELPER]: helper,
    [LABEL_RUN_ID]: runId,
    [LABEL_OWNER_HOST]: owner.host,
    [LABEL_OWNER_BOOT_ID]: owner.bootId,
    [LABEL_OWNER_PID]: String(owner.pid),
    [LABEL_OWNER_START]: owner.startTicks,
  };
}

/** The owner recorded on a container, or undefined when its labels do not name one. */
export function ownerFromLabels(labels: Readonly<Record<string, string>>): OwnerIdentity | undefined {
  const pid = Number(labels[LABEL_OWNER_PID]);
  const host = labels[LABEL_OWNER_HOST];
  if (!Number.isInteger(pid) || pid <= 0 || !host) return undefined;
  return { host, bootId: labels[LABEL_OWNER_BOOT_ID] ?? '', pid, startTicks: labels[LABEL_OWNER_START] ?? '' };
}
