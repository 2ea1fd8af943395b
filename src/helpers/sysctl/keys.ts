/**
 * Sysctl keys classified and values validated, before any container starts. Pure.
 *
 * The rules follow runc's validator and the kubelet's: only the IPC and network namespaces'
 * keys can be set per container; anything else changes the whole host, so it must be on an
 * allowlist (extended in the config, never with a flag) and granted with `--allow host-sysctl`.
 * Some keys are refused whatever the allowlist says: they would let a container escape to
 * the host or weaken a kernel security boundary.
 */
import { UsageError } from '../../errors.js';

export type KeyClass = 'namespaced-ipc' | 'namespaced-net' | 'node' | 'escape' | 'not-allowed';

export type SysctlTarget = 'host' | 'container';

export interface KeyClassification {
  /** The key in dot form. */
  readonly key: string;
  readonly class: KeyClass;
  readonly reason: string;
}

export interface ClassifyOptions {
  /** Default 'host'. */
  readonly target?: SysctlTarget;
  /** Patterns for node-level keys (host target only); default DEFAULT_NODE_ALLOWLIST. */
  readonly allowlist?: readonly string[];
}

const HOST_PROGRAM = 'runs a host program as root';
const SECURITY_BOUNDARY = 'a kernel security boundary: a container must not lower it for the host';
const USERNS = 'unprivileged user namespaces: kernel attack surface';

/** Refused for every target and whatever the allowlist, checked before anything else. */
export const ESCAPE_KEYS: Readonly<Record<string, string>> = {
  'kernel.core_pattern': 'a "|" handler runs as root on the host',
  'kernel.modprobe': HOST_PROGRAM,
  'kernel.hotplug': HOST_PROGRAM,
  'kernel.sysrq': 'magic SysRq: reboot, crash or kill everything on the host',
  'kernel.kexec_load_disabled': 'loading another kernel replaces the host',
  'kernel.yama.*': 'ptrace protections',
  'user.max_user_namespaces': USERNS,
  'kernel.unprivileged_userns_clone': USERNS,
  'kernel.apparmor_restrict_unprivileged_userns': USERNS,
  'kernel.apparmor_restrict_unprivileged_unconfined': USERNS,
  'kernel.unprivileged_bpf_disabled': SECURITY_BOUNDARY,
  'kernel.kptr_restrict': SECURITY_BOUNDARY,
  'kernel.dmesg_restrict': SECURITY_BOUNDARY,
  'kernel.perf_event_paranoid': SECURITY_BOUNDARY,
  'fs.protected_*': SECURITY_BOUNDARY,
  'fs.suid_dumpable': SECURITY_BOUNDARY,
  'vm.mmap_min_addr': SECURITY_BOUNDARY,
};

/** runc's list of IPC-namespace keys. */
export const NAMESPACED_IPC_KEYS: readonly string[] = [
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
  'fs.mqueue.*',
];

export const DEFAULT_NODE_ALLOWLIST: readonly string[] = [
  'vm.*',
  'net.core.*',
  'net.ipv4.*',
  'net.ipv6.*',
  'net.netfilter.nf_conntrack_max',
  'fs.file-max',
  'fs.nr_open',
  'fs.inotify.*',
  'fs.aio-max-nr',
  'kernel.pid_max',
  'kernel.threads-max',
  'kernel.shmmax',
  'kernel.shmall',
  'kernel.shmmni',
  'kernel.sem',
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
];

/** A component may hold "/" in dot form: it stands for a dot in the name (a VLAN interface, eth0.100). */
const KEY = /^[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*)+$/;

/**
 * The key in dot form. Slash form (`vm/swappiness`) swaps the separators, as sysctl(8) does:
 * `net/ipv4/conf/eth0.100/rp_filter` is `net.ipv4.conf.eth0/100.rp_filter`.
 */
export function normalizeKey(key: string): string {
  const trimmed = key.trim();
  const firstSeparator = /[./]/.exec(trimmed)?.[0];
  const dotted = firstSeparator === '/' ? trimmed.replace(/[./]/g, (c) => (c === '/' ? '.' : '/')) : trimmed;
  if (!KEY.test(dotted)) throw new UsageError(`"${key}" is not a sysctl key (expected e.g. vm.swappiness or vm/swappiness)`);
  return dotted;
}

/** Exact match, or a `*` suffix wildcard: `vm.*` matches `vm.swappiness` (not `vm` itself). */
export function matchesPattern(key: string, pattern: string): boolean {
  if (!pattern.endsWith('*')) return key === pattern;
  const prefix = pattern.slice(0, -1);
  return key.length > prefix.length && key.startsWith(prefix);
}

const matchesAny = (key: string, patterns: Iterable<string>): boolean => {
  for (const pattern of patterns) if (matchesPattern(key, pattern)) return true;
  return false;
};

/** Throws a UsageError for a malformed key; every other verdict is a classification. */
export function classifyKey(rawKey: string, options: ClassifyOptions = {}): KeyClassification {
  const key = normalizeKey(rawKey);
  const target = options.target ?? 'host';
  const escaping = Object.entries(ESCAPE_KEYS).find(([pattern]) => matchesPattern(key, pattern));
  if (escaping) return { key, class: 'escape', reason: `refused: ${escaping[1]}` };
  if (target === 'container') {
    if (matchesAny(key, NAMESPACED_IPC_KEYS)) return { key, class: 'namespaced-ipc', reason: "the container's own IPC namespace" };
    if (key.startsWith('net.')) return { key, class: 'namespaced-net', reason: "the container's own network namespace" };
    return { key, class: 'not-allowed', reason: 'not namespaced: Docker can set only IPC and net keys per container' };
  }
  if (matchesAny(key, options.allowlist ?? DEFAULT_NODE_ALLOWLIST)) {
    return { key, class: 'node', reason: 'node-wide: changes the host for every container (needs --allow host-sysctl)' };
  }
  return { key, class: 'not-allowed', reason: 'not on the allowlist (extend it in the config, never with a flag)' };
}

export interface ValueRange {
  readonly min?: number;
  readonly max?: number;
  /** How many integers the value holds; default 1. */
  readonly count?: number;
  /** The integers must not decrease (a range: low high). */
  readonly ordered?: boolean;
}

/** Known ranges, documented in the README. Any other integer key: non-negative integers, as many as given. */
export const VALUE_RANGES: Readonly<Record<string, ValueRange>> = {
  'vm.swappiness': { min: 0, max: 200 },
  'vm.overcommit_memory': { min: 0, max: 2 },
  'vm.overcommit_ratio': { min: 0 },
  'vm.dirty_ratio': { min: 0, max: 100 },
  'vm.dirty_background_ratio': { min: 0, max: 100 },
  'vm.max_map_count': { min: 1 },
  'net.core.somaxconn': { min: 1, max: 2147483647 },
  'fs.file-max': { min: 1 },
  'net.ipv4.ip_local_port_range': { min: 1, max: 65535, count: 2, ordered: true },
  'net.ipv4.ip_forward': { min: 0, max: 1 },
  'net.ipv4.tcp_fin_timeout': { min: 1 },
  'fs.inotify.max_user_watches': { min: 1 },
  'fs.inotify.max_user_instances': { min: 1 },
  'kernel.pid_max': { min: 301, max: 4194304 },
  // The kernel takes values far below what a running host needs: 1 makes every fork fail.
  'kernel.threads-max': { min: 1024 },
};

/** Keys whose value is a name, not integers. */
export const STRING_KEYS: readonly string[] = ['net.ipv4.tcp_congestion_control', 'net.core.default_qdisc', 'kernel.hostname', 'kernel.domainname'];

const NAME = /^[A-Za-z0-9_.-]+$/;
const UNSIGNED = /^\d+$/;
/** The kernel's widest integer sysctl is an unsigned long. */
const ULONG_MAX = 2n ** 64n - 1n;

const describeRange = (range: ValueRange): string => (range.max === undefined ? `at least ${range.min ?? 0}` : `${range.min ?? 0}–${range.max}`);

/** The value normalized (trimmed, whitespace collapsed to single spaces), or a UsageError naming key and value. */
export function validateValue(rawKey: string, value: string): string {
  const key = normalizeKey(rawKey);
  const normalized = value.trim().replace(/\s+/g, ' ');
  const refuse = (why: string): never => {
    throw new UsageError(`${key}=${JSON.stringify(value)}: ${why}`);
  };
  if (normalized === '') refuse('empty value');
  if (STRING_KEYS.includes(key)) {
    if (!NAME.test(normalized)) refuse('expected a single name of letters, digits, "_", "." or "-"');
    return normalized;
  }
  const parts = normalized.split(' ');
  for (const part of parts) {
    if (!UNSIGNED.test(part)) refuse(`"${part}" is not a non-negative integer`);
    if (BigInt(part) > ULONG_MAX) refuse(`${part} is out of range`);
  }
  const range = VALUE_RANGES[key];
  if (!range) return parts.map((p) => BigInt(p).toString()).join(' ');
  const count = range.count ?? 1;
  if (parts.length !== count) refuse(count === 1 ? 'expected one integer' : `expected ${count} integers`);
  const numbers = parts.map((p) => BigInt(p));
  for (const n of numbers) {
    if ((range.min !== undefined && n < BigInt(range.min)) || (range.max !== undefined && n > BigInt(range.max))) {
      refuse(`${n} is out of range (${describeRange(range)})`);
    }
  }
  if (range.ordered && numbers.some((n, i) => i > 0 && n < numbers[i - 1]!)) refuse(`expected low ≤ high, got ${numbers.join(' ')}`);
  return numbers.join(' ');
}

const SIGNED = /^-?\d+$/;

/**
 * For `--raise-only`: true when every integer of `desired` is ≥ the current one, false when
 * every one is ≤ and some is lower, undefined when it cannot tell (mixed directions, names,
 * different counts): the caller refuses rather than guess.
 */
export function isRaise(current: string, desired: string): boolean | undefined {
  const now = current.trim().split(/\s+/);
  const wanted = desired.trim().split(/\s+/);
  if (now.length !== wanted.length || ![...now, ...wanted].every((p) => SIGNED.test(p))) return undefined;
  const deltas = wanted.map((w, i) => BigInt(w) - BigInt(now[i]!));
  if (deltas.every((d) => d >= 0n)) return true;
  if (deltas.every((d) => d <= 0n)) return false;
  return undefined;
}
