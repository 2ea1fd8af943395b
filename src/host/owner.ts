/**
 * Who owns a helper container: the dtool process that created it. Recorded in the
 * container's labels so that any later dtool start can tell whether that process is gone
 * and sweep what it left behind (see run/orphans.ts).
 *
 * A pid alone is not an identity: pids are reused, and a reboot reuses all of them. So an
 * owner is (host, boot id, pid, the pid's start time since boot). A process is the owner
 * only if all four still match; after a reboot the boot id differs, after pid reuse the
 * start time does.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface OwnerIdentity {
  readonly host: string;
  /** The kernel's random boot id; empty where the OS has none (then only the pid is compared). */
  readonly bootId: string;
  readonly pid: number;
  /** The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); empty if unknown. */
  readonly startTicks: string;
}

/** Reads what the identity check needs from the OS; swapped in tests. */
export interface ProcessTable {
  readonly bootId: () => string;
  /** undefined when no process has that pid. */
  readonly startTicks: (pid: number) => string | undefined;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses, so count from its end. */
export function startTicksFromStat(stat: string): string | undefined {
  const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // afterName[0] is field 3 (state), so field 22 is at index 19.
  return afterName[19];
}

export const linuxProcessTable: ProcessTable = {
  bootId: () => readOrEmpty('/proc/sys/kernel/random/boot_id'),
  startTicks: (pid) => {
    const stat = readOrEmpty(`/proc/${pid}/stat`);
    if (stat) return startTicksFromStat(stat) ?? '';
    // No /proc (not Linux): fall back to "a process with this pid exists".
    try {
      process.kill(pid, 0);
      return '';
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? '' : undefined;
    }
  },
};

export function currentOwner(table: ProcessTable = linuxProcessTable): OwnerIdentity {
  return { host: hostname(), bootId: table.bootId(), pid: process.pid, startTicks: table.startTicks(process.pid) ?? '' };
}

/**
 * Whether `owner` is certainly gone, seen from `here` (this process).
 *  - 'gone':      same host and a different boot, or no process with that pid and start time
 *  - 'alive':     the owning process still runs
 *  - 'elsewhere': another host (a remote engine shared by several machines): not ours to judge
 */
export function ownerState(owner: OwnerIdentity, here: OwnerIdentity, table: ProcessTable): 'gone' | 'alive' | 'elsewhere' {
  if (owner.host !== here.host) return 'elsewhere';
  if (owner.bootId && here.bootId && owner.bootId !== here.bootId) return 'gone';
  if (owner.pid === here.pid && owner.startTicks === here.startTicks) return 'alive';
  const ticks = table.startTicks(owner.pid);
  if (ticks === undefined) return 'gone';
  return owner.startTicks && ticks && ticks !== owner.startTicks ? 'gone' : 'alive';
}
