/** Every container and volume dtool creates carries these labels, so `dtool prune` can sweep by label only. */
export const LABEL_HELPER = 'dtool.helper';
export const LABEL_RUN_ID = 'dtool.run-id';
/** Present on everything dtool owns; the value is the dtool version that created it. */
export const LABEL_MANAGED = 'dtool.managed';
export const LABEL_IMAGE = 'dtool.image';
export const LABEL_IMAGE_HASH = 'dtool.image-hash';

export function helperLabels(helper: string, runId: string, version: string): Record<string, string> {
  return { [LABEL_MANAGED]: version, [LABEL_HELPER]: helper, [LABEL_RUN_ID]: runId };
}
