/**
 * `dtool host info`: the host's kernel, uptime, load, memory, mounts and the disk usage of
 * chosen paths, read by a helper with no capability, no network, a read-only root and
 * read-only mounts of exactly what it reads — monitoring with nothing installed on the host.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { HelperMount, HelperRunSpec } from '../../core/helper-spec.js';
import type { Deps } from '../../deps.js';
import { DtoolError, NotFoundError } from '../../errors.js';
import { runHelper } from '../../run/run-helper.js';

export interface HostInfo {
  readonly kernel: string;
  readonly hostname: string;
  readonly uptimeSeconds: number;
  readonly load: readonly [number, number, number];
  readonly memory: {
    readonly totalBytes: number;
    readonly availableBytes: number;
    readonly freeBytes: number;
    readonly buffersBytes: number;
    readonly cachedBytes: number;
    readonly swapTotalBytes: number;
    readonly swapFreeBytes: number;
  };
  readonly mounts: readonly { readonly device: string; readonly mountpoint: string; readonly fstype: string; readonly options: string }[];
  readonly disks: readonly { readonly path: string; readonly totalBytes: number; readonly usedBytes: number; readonly availableBytes: number }[];
}

export function hostInfoSpec(image: string, paths: readonly string[]): HelperRunSpec {
  const mounts: HelperMount[] = [
    // PID 1's mount table is the host's: the helper's own /proc/mounts would be its own.
    { type: 'bind', source: '/proc/1/mounts', target: '/host/proc/mounts', readOnly: true },
    { type: 'bind', source: '/etc/hostname', target: '/host/etc/hostname', readOnly: true },
    ...paths.map((path, index): HelperMount => ({ type: 'bind', source: path, target: `/host/paths/${index}`, readOnly: true })),
  ];
  return { helper: 'host-info', image, command: ['dtool-host-info', ...paths], network: { mode: 'none' }, mounts };
}

export async function hostInfo(deps: Deps, paths: readonly string[], cwd: string): Promise<HostInfo> {
  const absolute = paths.map((p) => resolve(cwd, p));
  for (const path of absolute) {
    if (!(await stat(path).catch(() => undefined))) throw new NotFoundError(`--path ${path} does not exist`);
  }
  const image = (await deps.images.ensure('host')).reference;
  const result = await runHelper(deps, hostInfoSpec(image, absolute));
  try {
    return JSON.parse(result.stdout) as HostInfo;
  } catch (error) {
    throw new DtoolError('HELPER_FAILED', `dtool-host-info printed no JSON: ${(error as Error).message}`, {
      details: result.stdout.split('\n').slice(0, 5),
    });
  }
}

export function summarizeHostInfo(info: HostInfo): string {
  const usedPercent = info.memory.totalBytes ? Math.round((100 * (info.memory.totalBytes - info.memory.availableBytes)) / info.memory.totalBytes) : 0;
  const disks = info.disks.map((d) => `${d.path} ${d.totalBytes ? Math.round((100 * d.usedBytes) / d.totalBytes) : 0}% used`);
  return [`load ${info.load.join(' ')}`, `memory ${usedPercent}% used`, ...disks].join(', ');
}

/** The figures a scheduled host-info job exposes as metrics (dtool_schedule_job_figure). */
export function hostInfoFigures(info: HostInfo): Record<string, number> {
  const figures: Record<string, number> = {
    uptime_seconds: info.uptimeSeconds,
    load1: info.load[0],
    load5: info.load[1],
    load15: info.load[2],
    memory_total_bytes: info.memory.totalBytes,
    memory_available_bytes: info.memory.availableBytes,
    swap_used_bytes: info.memory.swapTotalBytes - info.memory.swapFreeBytes,
  };
  for (const disk of info.disks) {
    figures[`disk_used_bytes:${disk.path}`] = disk.usedBytes;
    figures[`disk_available_bytes:${disk.path}`] = disk.availableBytes;
  }
  return figures;
}
