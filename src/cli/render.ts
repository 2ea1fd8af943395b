/** Turns results and events into text. No process access: output goes through `CliIo`. */
import type { DtoolError } from '../errors.js';
import type { Reporter, RunEvent } from '../events.js';
import type { BackupReport } from '../helpers/mysql/backup.js';
import type { DbInitReport } from '../helpers/mysql/db-init.js';
import type { LogrotateReport } from '../helpers/logrotate/index.js';
import type { RestoreReport } from '../helpers/mysql/restore.js';
import type { DoctorReport, ProbeResult } from '../run/doctor.js';
import type { PruneReport } from '../run/prune.js';
import type { BuiltImage } from '../run/build-image.js';
import type { RecipeReport } from '../recipes/execute.js';
import type { SysctlSetReport } from '../helpers/sysctl/tuner.js';
import type { HostInfo } from '../helpers/host/info.js';
import type { DindBuildReport } from '../helpers/dind/build.js';
import type { BuildInstallReport } from '../helpers/dind/build-install.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Whether stderr is a terminal: progress is shown there only. */
  readonly interactive: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  return `${rows
    .map((r) =>
      r
        .map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function describeEvent(event: RunEvent, verbose: boolean): string | undefined {
  switch (event.type) {
    case 'image.build.start':
      return `building image ${event.tag}`;
    case 'image.build.output':
      return verbose || /^Step \d+\/\d+/.test(event.line) ? `  ${event.image}: ${event.line}` : undefined;
    case 'image.build.done':
      return `built ${event.tag}`;
    case 'target.start':
      return `${event.action} ${event.target}…`;
    case 'target.done':
      return `${event.ok ? 'ok' : 'FAILED'}  ${event.action} ${event.target}: ${event.message}`;
    case 'helper.output':
      return verbose ? `  [${event.helper}] ${event.line}` : undefined;
    case 'info':
      return event.message;
    case 'warning':
      return `warning: ${event.message}`;
    default:
      return undefined;
  }
}

/** Progress and warnings on stderr: all of it on a terminal or with --verbose, warnings only otherwise. */
export function terminalReporter(io: CliIo, options: { readonly verbose: boolean; readonly quiet: boolean }): Reporter {
  return (event) => {
    if (options.quiet && event.type !== 'warning') return;
    if (!io.interactive && !options.verbose && event.type !== 'warning') return;
    const line = describeEvent(event, options.verbose);
    if (line !== undefined) io.stderr(`${line}\n`);
  };
}

export function renderError(error: DtoolError): string {
  const lines = [`dtool: ${error.message}`];
  for (const detail of error.details) lines.push(`  | ${detail}`);
  if (error.hint) lines.push(`  hint: ${error.hint}`);
  return `${lines.join('\n')}\n`;
}

export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function renderBackupReport(report: BackupReport): string {
  const rows = [['TARGET', 'STATUS', 'SIZE', 'SECONDS', 'VERIFY', 'FILE / ERROR']];
  for (const t of report.targets) {
    rows.push([
      t.target,
      t.status,
      t.bytes !== undefined ? formatBytes(t.bytes) : '-',
      t.seconds.toFixed(1),
      t.verify ? (t.verify.ok ? `ok (${t.verify.tables} tables)` : 'MISMATCH') : '-',
      t.status === 'ok' ? `${t.node ? `${t.node}:` : ''}${t.file ?? ''}` : (t.error?.message ?? ''),
    ]);
  }
  let text = table(rows);
  for (const t of report.targets) {
    if (t.pruned?.length) text += `${t.target}: pruned ${t.pruned.join(', ')}\n`;
    if (t.removedLeftovers?.length) text += `${t.target}: removed leftovers of a run that died: ${t.removedLeftovers.join(', ')}\n`;
    if (t.fetched) text += `${t.target}: fetched ${t.fetched.file} (sha256 matched its manifest)\n`;
    if (t.verify && !t.verify.ok) text += `${t.target}: ${t.verify.summary}\n`;
  }
  return text;
}

export function renderRestoreReport(report: RestoreReport): string {
  return `restored ${report.file} into ${report.target} in ${report.seconds.toFixed(1)}s${report.checkedAgainstManifest ? ' (sha256 matched its manifest)' : ' (no manifest: unchecked)'}\n`;
}

export function renderDbInitReport(report: DbInitReport): string {
  let text = `${report.target}${report.node ? ` (on ${report.node})` : ''}: database ${report.database} ensured${report.user ? `, user ${report.user} granted on it` : ''}\n`;
  for (const seed of report.seeds) text += `  seed ${seed.name}: ${seed.status}\n`;
  return text;
}

export function renderLogrotateReport(report: LogrotateReport): string {
  const rows = [['TARGET', 'STATUS', 'MODE', 'ROTATED', 'SIGNAL', 'LOST', 'ERROR']];
  for (const t of report.targets) {
    rows.push([
      t.target,
      t.status,
      t.mode ?? '-',
      `${t.files.filter((f) => f.rotated).length}/${t.files.length}`,
      t.signal ? (t.signal.sent ? `${t.signal.name} sent` : 'not sent') : '-',
      t.lostBytes !== undefined ? formatBytes(t.lostBytes) : '-',
      t.error?.message ?? '',
    ]);
  }
  let text = table(rows);
  for (const t of report.targets) {
    for (const f of t.files.filter((file) => file.rotated)) {
      const lost = f.lostBytes !== undefined ? `, ${formatBytes(f.lostBytes)} lost between copy and truncate` : '';
      text += `${t.target}: ${f.path} rotated (${formatBytes(f.bytes ?? 0)}${lost}) as ${f.owner}\n`;
    }
    if (t.signal && !t.signal.sent && t.signal.reason) text += `${t.target}: ${t.signal.name} not sent: ${t.signal.reason}\n`;
  }
  return text;
}

function probe(result: ProbeResult | undefined): string {
  if (!result) return '-';
  if (result.works === true) return 'works';
  return `${result.works === false ? 'refused' : 'unknown'} (${result.reason})`;
}

export function renderDoctorReport(report: DoctorReport): string {
  if (!report.engine.reachable) return `engine: unreachable (${report.engine.error})\n`;
  const e = report.engine;
  const lines = [
    `engine:            Docker ${e.serverVersion} (API ${e.apiVersion}, ${e.os}/${e.arch})${e.name ? ` on ${e.name}` : ''}`,
    `storage driver:    ${e.storageDriver}; cgroup v${e.cgroupVersion}`,
    `privileged flag:   ${probe(report.privileged?.flag)}`,
    `explicit profile:  ${probe(report.privileged?.capabilities)}`,
    `privileged mode:   ${report.privileged?.configuredMode ?? '-'} (DTOOL_PRIVILEGED_MODE)${
      report.privileged?.configuredMode === 'flag' && report.privileged.flag.works === false && report.privileged.capabilities.works === true
        ? ': this engine needs --privileged-mode capabilities'
        : ''
    }`,
    `host sysctl:       ${probe(report.hostSysctl)} (a helper with no capability, only /proc/sys writable)`,
    `base image:        ${report.baseImage?.reference} ${report.baseImage?.present ? `present (${formatBytes(report.baseImage.sizeBytes ?? 0)})` : 'MISSING (make base-image)'}`,
  ];
  for (const image of report.helperImages ?? []) {
    lines.push(`helper image:      ${image.reference} ${image.present ? 'present' : 'not built (dtool images build)'}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderPruneReport(report: PruneReport, dryRun: boolean): string {
  const verb = dryRun ? 'would remove' : 'removed';
  return `${verb} ${report.containers.length} container(s)${report.containers.length ? `: ${report.containers.join(', ')}` : ''}\n${verb} ${report.volumes.length} volume(s)${report.volumes.length ? `: ${report.volumes.join(', ')}` : ''}\n`;
}

export function renderBuiltImages(images: readonly BuiltImage[]): string {
  return table([['IMAGE', 'REFERENCE', 'STATE'], ...images.map((i) => [i.name, i.reference, i.cached ? 'up to date' : 'built'])]);
}

export function renderRecipeReport(report: RecipeReport): string {
  const rows = [
    ['STEP', 'KIND', 'STATUS', 'SECONDS', 'DETAIL'],
    ...report.steps.map((s) => [
      s.id,
      s.kind,
      s.status,
      s.status === 'skipped' ? '-' : s.seconds.toFixed(2),
      [s.error?.message ?? s.detail ?? '', s.cutoverGapMs !== undefined ? `(cutover gap ${s.cutoverGapMs} ms)` : ''].filter(Boolean).join(' '),
    ]),
  ];
  const verdict = { changed: 'changed', unchanged: 'unchanged: nothing rebuilt or swapped', failed: `failed at step ${report.failedStep}` }[
    report.status
  ];
  return `${table(rows)}\nrecipe ${report.recipe}: ${verdict} (${report.seconds.toFixed(2)}s)\n`;
}

export function renderDindBuildReport(report: DindBuildReport): string {
  const seeded = report.seeded.map((s) => `${s.image} (${s.from === 'host' ? `copied in, ${s.seconds}s` : 'cached'})`).join(', ');
  return [
    `built ${report.tag} (${report.imageId.slice(7, 19)}) inside DinD in ${report.seconds.toFixed(2)}s: ${report.steps} steps, ${report.cachedSteps} cached`,
    `wrote ${report.out} (${formatBytes(report.bytes)}, sha256 ${report.sha256}) and ${report.manifest}`,
    ...(seeded ? [`base images: ${seeded}`] : []),
    `cache: ${report.cacheVolume ?? 'none (--no-cache)'}; inner storage driver ${report.storageDriver}`,
    ...(report.loaded ? [`loaded into this engine as ${report.tag}; image id checked`] : []),
    ...report.warnings.map((w) => `warning: ${w}`),
  ]
    .join('\n')
    .concat('\n');
}

export function renderBuildInstallReport(report: BuildInstallReport): string {
  const what = {
    installed: 'installed',
    unchanged: 'unchanged (same content already there)',
    replaced: `replaced (old one kept as ${report.previous})`,
  }[report.status];
  return `${report.path}: ${what}\n  ${report.kind}, ${formatBytes(report.bytes)}, sha256 ${report.sha256}\n  from ${report.image} (${report.imageId.slice(7, 19)}), built via ${report.via} in ${report.seconds.toFixed(2)}s\n`;
}

export function renderSysctlReport(report: SysctlSetReport): string {
  const rows = [['KEY', 'CLASS', 'BEFORE', 'VALUE', 'STATUS'], ...report.changes.map((c) => [c.key, c.class, c.previous, c.value, c.status])];
  const changed = report.changes.filter((c) => c.status === 'changed').length;
  const footer = report.dryRun
    ? 'dry run: nothing was changed'
    : `${changed} changed, read back and verified; run ${report.runId} (dtool sysctl revert --run ${report.runId} puts them back)`;
  return `${table(rows)}\n${footer}${report.persisted ? `\npersisted in ${report.persisted}` : ''}\n`;
}

export function renderHostInfo(info: HostInfo): string {
  const days = Math.floor(info.uptimeSeconds / 86400);
  const hours = Math.floor((info.uptimeSeconds % 86400) / 3600);
  const used = info.memory.totalBytes - info.memory.availableBytes;
  const lines = [
    `host ${info.hostname}, kernel ${info.kernel}, up ${days}d ${hours}h, load ${info.load.join(' ')}`,
    `memory ${formatBytes(used)} used of ${formatBytes(info.memory.totalBytes)} (${formatBytes(info.memory.availableBytes)} available), swap ${formatBytes(info.memory.swapTotalBytes - info.memory.swapFreeBytes)} used of ${formatBytes(info.memory.swapTotalBytes)}`,
  ];
  if (info.disks.length) {
    lines.push(
      '',
      table([
        ['PATH', 'SIZE', 'USED', 'AVAILABLE', 'USE%'],
        ...info.disks.map((d) => [
          d.path,
          formatBytes(d.totalBytes),
          formatBytes(d.usedBytes),
          formatBytes(d.availableBytes),
          d.totalBytes ? `${Math.round((100 * d.usedBytes) / d.totalBytes)}%` : '-',
        ]),
      ]),
    );
  }
  // Block devices only: the pseudo filesystems (proc, cgroup, overlay layers…) are in --json.
  const devices = info.mounts.filter((m) => m.device.startsWith('/dev/'));
  if (devices.length) lines.push('', table([['DEVICE', 'MOUNTPOINT', 'TYPE'], ...devices.map((m) => [m.device, m.mountpoint, m.fstype])]));
  return `${lines.map((line) => line.replace(/\n$/, '')).join('\n')}\n`;
}
