/**
 * The sysctl tuner: the host's kernel settings changed from a container with the least
 * that works — no `Privileged`, every capability dropped, no network, a read-only root, and
 * only `/proc/sys` writable (the `host-sysctl` privilege, granted with --allow).
 *
 * Every key is classified and every value validated before any container starts. The
 * previous values are recorded per run, so `revert` restores exactly what was there, and
 * nothing is ever reverted on its own. A multi-key set that fails partway is rolled back by
 * the helper itself (images/host/dtool-sysctl), before dtool hears of it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HelperRunSpec, Privilege } from '../../core/helper-spec.js';
import { assertGranted } from '../../core/privileges.js';
import { recreateOptions } from '../../core/service.js';
import type { Deps } from '../../deps.js';
import { DtoolError, NotFoundError, UsageError } from '../../errors.js';
import { writeFileAtomic } from '../../host/atomic-file.js';
import { runHelper } from '../../run/run-helper.js';
import { type KeyClass, type KeyClassification, type SysctlTarget, classifyKey, isRaise, validateValue } from './keys.js';
import { dropInName, type SysctlSetting } from './profile.js';

export type { SysctlSetting };

export interface SysctlSetParams {
  readonly settings: readonly SysctlSetting[];
  readonly dryRun: boolean;
  readonly raiseOnly: boolean;
  readonly persist: boolean;
  /** Names the drop-in: `60-dtool-<profile>.conf`. */
  readonly profile: string;
  /** The host folder of drop-ins (default /etc/sysctl.d). */
  readonly sysctlDir: string;
}

export type ChangeStatus = 'changed' | 'unchanged' | 'kept-higher' | 'would-change';

export interface SysctlChange {
  readonly key: string;
  readonly class: KeyClass;
  readonly previous: string;
  readonly value: string;
  readonly status: ChangeStatus;
}

export interface SysctlSetReport {
  readonly runId: string;
  readonly dryRun: boolean;
  readonly changes: readonly SysctlChange[];
  readonly persisted?: string;
}

/** What a run changed, kept in the state folder until reverted. */
interface RunRecord {
  readonly runId: string;
  readonly at: string;
  readonly changes: readonly { readonly key: string; readonly previous: string; readonly value: string }[];
  readonly persisted?: { readonly dir: string; readonly name: string };
  readonly revertedAt?: string;
}

const SYSCTL_HOST_DIR = '/host/sysctl.d';
const UTS_KEYS = ['kernel.hostname', 'kernel.domainname'];
const SETTING = /^([^=\s]+)=(.*)$/;

export function parseSettings(values: readonly string[]): SysctlSetting[] {
  if (values.length === 0) throw new UsageError('give at least one KEY=VALUE');
  return values.map((text) => {
    const match = SETTING.exec(text.trim());
    if (!match) throw new UsageError(`expected KEY=VALUE, not "${text}"`);
    return { key: match[1]!.replace(/\//g, '.'), value: match[2]! };
  });
}

/** Why a classified key may not be set on `target`, or undefined when it may. */
function refusal(classified: KeyClassification, target: SysctlTarget): string | undefined {
  if (target === 'container') {
    return classified.class === 'namespaced-ipc' || classified.class === 'namespaced-net' ? undefined : `${classified.key}: ${classified.reason}`;
  }
  if (classified.class === 'escape' || classified.class === 'not-allowed') return `${classified.key}: ${classified.reason}`;
  // IPC and UTS keys live in namespaces the helper has its own copy of: writing them would
  // change only the helper's. They belong to a container's own settings (--container).
  if (classifyKey(classified.key, { target: 'container' }).class === 'namespaced-ipc' || UTS_KEYS.includes(classified.key)) {
    return `${classified.key}: namespaced, not host-wide: set it per container with --container`;
  }
  return undefined;
}

/** Classifies and validates every setting for `target`; all refusals at once, before any container. */
function checkSettings(
  settings: readonly SysctlSetting[],
  target: SysctlTarget,
  allowlist?: readonly string[],
): { setting: SysctlSetting; class: KeyClass }[] {
  const refused: string[] = [];
  const checked = settings.map((setting) => {
    const classified = classifyKey(setting.key, { target, ...(allowlist ? { allowlist } : {}) });
    const refusedBecause = refusal(classified, target);
    let value = setting.value;
    // A refused key's value is not worth a second complaint.
    if (refusedBecause) refused.push(refusedBecause);
    else {
      try {
        value = validateValue(classified.key, setting.value);
      } catch (error) {
        refused.push((error as Error).message);
      }
    }
    return { setting: { key: classified.key, value }, class: classified.class };
  });
  if (refused.length) {
    throw new UsageError(refused.length === 1 ? refused[0]! : `${refused.length} settings refused`, { details: refused });
  }
  return checked;
}

export function checkHostSettings(settings: readonly SysctlSetting[], allowlist?: readonly string[]): { setting: SysctlSetting; class: KeyClass }[] {
  return checkSettings(settings, 'host', allowlist);
}

/**
 * `net.*` keys belong to a network namespace: the host's are reached only from the host's
 * network (a helper with no network would read and write its own). Every other key is
 * host-wide, and the helper then has no network at all.
 */
export function sysctlSpec(
  command: readonly string[],
  keys: readonly string[],
  privileges: readonly Privilege[],
  image: string,
  mounts: HelperRunSpec['mounts'] = [],
): HelperRunSpec {
  const network = keys.some((key) => key.startsWith('net.')) ? 'host' : 'none';
  return { helper: 'sysctl', image, command: ['dtool-sysctl', ...command], network: { mode: network }, privileges, mounts };
}

/** `KEY\tVALUE` lines of `dtool-sysctl get`. */
export async function readSysctls(deps: Deps, keys: readonly string[]): Promise<Map<string, string>> {
  const image = (await deps.images.ensure('host')).reference;
  const result = await runHelper(deps, sysctlSpec(['get', ...keys], keys, [], image), { allowFailure: true });
  if (result.exitCode === 4)
    throw new NotFoundError(
      result.stderr
        .trim()
        .split('\n')
        .at(-1)
        ?.replace(/^dtool-sysctl: /, '') ?? 'no such key',
    );
  if (result.exitCode !== 0) throw new DtoolError('HELPER_FAILED', `dtool-sysctl get failed: ${result.stderr.trim()}`);
  return new Map(
    result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t') as [string, string]),
  );
}

/** Writes settings through the helper; resolves with each key's value before (`KEY\tOLD\tNEW\tSTATUS` lines). */
async function writeSysctls(deps: Deps, settings: readonly SysctlSetting[]): Promise<Map<string, { previous: string; changed: boolean }>> {
  const image = (await deps.images.ensure('host')).reference;
  const result = await runHelper(
    deps,
    sysctlSpec(
      ['set', ...settings.map((s) => `${s.key}=${s.value}`)],
      settings.map((s) => s.key),
      ['host-sysctl'],
      image,
    ),
    {
      allowFailure: true,
    },
  );
  if (result.exitCode === 0) {
    return new Map(
      result.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('\t'))
        .map(([key = '', previous = '', , status]) => [key, { previous, changed: status === 'changed' }]),
    );
  }
  const rolledBack = result.stdout
    .split('\n')
    .filter((line) => line.endsWith('\trolled-back'))
    .map((line) => line.split('\t')[0]);
  const reason = result.stderr.trim().split('\n').filter(Boolean);
  throw new DtoolError(
    result.exitCode === 4 ? 'NOT_FOUND' : 'HELPER_FAILED',
    `${reason[0]?.replace(/^dtool-sysctl: /, '') ?? `dtool-sysctl exited ${result.exitCode}`}${rolledBack.length ? `; rolled back ${rolledBack.join(', ')}` : ''}`,
    { details: reason },
  );
}

async function persistDropIn(deps: Deps, dir: string, name: string, settings: readonly SysctlSetting[]): Promise<string> {
  const image = (await deps.images.ensure('host')).reference;
  // A narrow mount: that one folder, nothing else of the host's /etc.
  await runHelper(
    deps,
    sysctlSpec(['persist', SYSCTL_HOST_DIR, name, ...settings.map((s) => `${s.key} = ${s.value}`)], [], [], image, [
      { type: 'bind', source: dir, target: SYSCTL_HOST_DIR, readOnly: false },
    ]),
  );
  return join(dir, name);
}

async function removeDropIn(deps: Deps, dir: string, name: string): Promise<void> {
  const image = (await deps.images.ensure('host')).reference;
  await runHelper(
    deps,
    sysctlSpec(['unpersist', SYSCTL_HOST_DIR, name], [], [], image, [{ type: 'bind', source: dir, target: SYSCTL_HOST_DIR, readOnly: false }]),
  );
}

export async function sysctlSet(deps: Deps, params: SysctlSetParams, stateDir: string): Promise<SysctlSetReport> {
  const checked = checkHostSettings(params.settings, deps.config.sysctlAllowlist);
  if (!params.dryRun) assertGranted({ helper: 'sysctl', privileges: ['host-sysctl'] }, new Set(deps.config.grants));
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}`;
  // A plain set is one helper run: the helper reports each previous value as it writes.
  // Dry runs and --raise-only read first, to decide what to write.
  const oneRun = !params.dryRun && !params.raiseOnly;
  const written = oneRun
    ? await writeSysctls(
        deps,
        checked.map((c) => c.setting),
      )
    : undefined;
  const current = written
    ? new Map([...written].map(([key, { previous }]) => [key, previous]))
    : await readSysctls(
        deps,
        checked.map((c) => c.setting.key),
      );
  const changes: SysctlChange[] = checked.map(({ setting, class: keyClass }) => {
    const previous = current.get(setting.key) ?? '';
    let status: ChangeStatus = previous === setting.value ? 'unchanged' : params.dryRun ? 'would-change' : 'changed';
    if (status !== 'unchanged' && params.raiseOnly) {
      const raise = isRaise(previous, setting.value);
      if (raise === undefined) throw new UsageError(`--raise-only: cannot tell whether ${setting.value} raises ${setting.key} (now ${previous})`);
      if (!raise) status = 'kept-higher';
    }
    return { key: setting.key, class: keyClass, previous, value: setting.value, status };
  });
  const toWrite = changes.filter((c) => c.status === 'changed');
  if (params.dryRun) return { runId, dryRun: true, changes };

  if (!oneRun && toWrite.length) await writeSysctls(deps, toWrite);
  // Recorded as soon as the values changed, before the drop-in: whatever fails next, revert knows.
  const recordPath = join(stateDir, `${runId}.json`);
  const record = async (persisted?: RunRecord['persisted']) => {
    const run: RunRecord = {
      runId,
      at: new Date().toISOString(),
      changes: toWrite.map(({ key, previous, value }) => ({ key, previous, value })),
      ...(persisted ? { persisted } : {}),
    };
    await mkdir(stateDir, { recursive: true });
    await writeFileAtomic(recordPath, `${JSON.stringify(run, null, 2)}\n`);
  };
  if (toWrite.length) await record();
  let persisted: string | undefined;
  if (params.persist) {
    const kept = changes.filter((c) => c.status !== 'kept-higher');
    persisted = await persistDropIn(deps, params.sysctlDir, dropInName(params.profile), kept);
    await record({ dir: params.sysctlDir, name: dropInName(params.profile) });
  }
  return { runId, dryRun: false, changes, ...(persisted ? { persisted } : {}) };
}

async function readRuns(stateDir: string): Promise<RunRecord[]> {
  const names = (await readdir(stateDir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(stateDir, name), 'utf8')) as RunRecord));
}

export interface SysctlRevertReport {
  /** Undefined when there was nothing to revert. */
  readonly runId?: string;
  readonly restored: readonly { readonly key: string; readonly value: string }[];
  readonly removedDropIn?: string;
}

/** Puts back what one run changed (the latest not yet reverted, or `runId`), and removes its drop-in. */
export async function sysctlRevert(deps: Deps, stateDir: string, runId?: string): Promise<SysctlRevertReport> {
  const runs = await readRuns(stateDir);
  const run = runId ? runs.find((r) => r.runId === runId) : runs.filter((r) => !r.revertedAt).at(-1);
  if (runId && !run) throw new NotFoundError(`no sysctl run ${runId} (dtool sysctl status lists them)`);
  if (!run) return { restored: [] };
  if (run.revertedAt) throw new UsageError(`run ${run.runId} was reverted already, at ${run.revertedAt}`);
  assertGranted({ helper: 'sysctl', privileges: ['host-sysctl'] }, new Set(deps.config.grants));
  // Later changes first, so a key set twice ends at the value before both.
  const restored = [...run.changes].reverse().map((c) => ({ key: c.key, value: c.previous }));
  if (restored.length) await writeSysctls(deps, restored);
  if (run.persisted) await removeDropIn(deps, run.persisted.dir, run.persisted.name);
  await writeFileAtomic(join(stateDir, `${run.runId}.json`), `${JSON.stringify({ ...run, revertedAt: new Date().toISOString() }, null, 2)}\n`);
  return {
    runId: run.runId,
    restored,
    ...(run.persisted ? { removedDropIn: join(run.persisted.dir, run.persisted.name) } : {}),
  };
}

export interface DriftRow {
  readonly key: string;
  readonly desired: string;
  readonly actual: string;
  readonly inSync: boolean;
  /** The profile file, or the run that asked for it. */
  readonly source: string;
}

/** Desired against actual: from a profile, or from every run not reverted (the latest value per key). */
export async function sysctlStatus(
  deps: Deps,
  stateDir: string,
  desired?: { readonly source: string; readonly settings: readonly SysctlSetting[] },
): Promise<DriftRow[]> {
  const wanted = new Map<string, { value: string; source: string }>();
  if (desired) {
    for (const s of checkHostSettings(desired.settings, deps.config.sysctlAllowlist))
      wanted.set(s.setting.key, { value: s.setting.value, source: desired.source });
  } else {
    for (const run of (await readRuns(stateDir)).filter((r) => !r.revertedAt)) {
      for (const change of run.changes) wanted.set(change.key, { value: change.value, source: `run ${run.runId}` });
    }
  }
  if (wanted.size === 0) return [];
  const actual = await readSysctls(deps, [...wanted.keys()]);
  return [...wanted].map(([key, { value, source }]) => ({
    key,
    desired: value,
    actual: actual.get(key) ?? '',
    inSync: actual.get(key) === value,
    source,
  }));
}

export interface ContainerSysctlReport {
  readonly container: string;
  readonly settings: readonly SysctlSetting[];
  /** The container was re-created (same name, networks, ports, mounts) with the engine's per-container sysctls. */
  readonly recreated: boolean;
  readonly dryRun: boolean;
}

/**
 * Namespaced keys (IPC, net) for one container: the engine applies per-container sysctls
 * when it creates the container's namespaces, so the container is re-created with them
 * (everything else kept, as a swap keeps it) and started again if it was running. No host
 * privilege is involved.
 */
export async function sysctlSetOnContainer(
  deps: Deps,
  name: string,
  settings: readonly SysctlSetting[],
  dryRun: boolean,
): Promise<ContainerSysctlReport> {
  const checked = checkSettings(settings, 'container').map((c) => c.setting);
  const { docker } = deps;
  const current = await docker.inspectDefinition(name);
  if (!current) throw new NotFoundError(`no container named ${name}`);
  const sysctls = { ...((current.hostConfig.Sysctls as Record<string, string> | null | undefined) ?? {}) };
  for (const s of checked) sysctls[s.key] = s.value;
  if (dryRun) return { container: name, settings: checked, recreated: false, dryRun: true };
  const oldImage = await docker.inspectImage(current.imageId);
  const create = recreateOptions(current, oldImage, current.imageId, { name, withPorts: true, withAliases: true });
  const aside = `${name}-dtool-sysctl-${randomBytes(3).toString('hex')}`;
  await docker.renameContainer(current.id, aside);
  let id: string;
  try {
    id = await docker.createContainer({
      ...create.options,
      HostConfig: { ...create.options.HostConfig, Sysctls: sysctls } as typeof create.options.HostConfig,
    });
    for (const network of create.extraNetworks) await docker.connectNetwork(network.name, id, network.aliases);
  } catch (error) {
    await docker.renameContainer(current.id, name);
    throw error;
  }
  if (current.running) {
    await docker.stopContainer(current.id, 10);
    try {
      await docker.startContainer(id);
    } catch (error) {
      // The engine refused a value: the old container comes back as it was.
      await docker.removeContainer(id);
      await docker.renameContainer(current.id, name);
      await docker.startContainer(current.id);
      throw error;
    }
  }
  await docker.removeContainer(current.id);
  return { container: name, settings: checked, recreated: true, dryRun: false };
}
