import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/errors.js';
import {
  classifyKey,
  DEFAULT_NODE_ALLOWLIST,
  ESCAPE_KEYS,
  isRaise,
  matchesPattern,
  normalizeKey,
  VALUE_RANGES,
  validateValue,
} from '../../../../src/helpers/sysctl/keys.js';

const ESCAPES: [string, RegExp][] = [
  ['kernel.core_pattern', /"\|" handler runs as root on the host/],
  ['kernel.modprobe', /runs a host program as root/],
  ['kernel.hotplug', /runs a host program as root/],
  ['kernel.sysrq', /SysRq/],
  ['kernel.kexec_load_disabled', /another kernel/],
  ['kernel.yama.ptrace_scope', /ptrace protections/],
  ['user.max_user_namespaces', /unprivileged user namespaces/],
  ['kernel.unprivileged_userns_clone', /unprivileged user namespaces/],
  ['kernel.apparmor_restrict_unprivileged_userns', /unprivileged user namespaces/],
  ['kernel.apparmor_restrict_unprivileged_unconfined', /unprivileged user namespaces/],
  ['kernel.unprivileged_bpf_disabled', /security boundary/],
  ['kernel.kptr_restrict', /security boundary/],
  ['kernel.dmesg_restrict', /security boundary/],
  ['kernel.perf_event_paranoid', /security boundary/],
  ['fs.protected_symlinks', /security boundary/],
  ['fs.protected_hardlinks', /security boundary/],
  ['fs.suid_dumpable', /security boundary/],
  ['vm.mmap_min_addr', /security boundary/],
];

describe('classifyKey: escape keys', () => {
  it.each(ESCAPES)('%s is refused on the host and for a container, with its reason', (key, reason) => {
    for (const target of ['host', 'container'] as const) {
      const classified = classifyKey(key, { target });
      expect(classified.class).toBe('escape');
      expect(classified.reason).toMatch(reason);
    }
  });

  it('covers every escape pattern', () => {
    for (const pattern of Object.keys(ESCAPE_KEYS)) expect(ESCAPES.some(([key]) => matchesPattern(key, pattern))).toBe(true);
  });

  it('comes before the allowlist: vm.mmap_min_addr is refused though vm.* is allowed, and so is an allowlist naming it', () => {
    expect(classifyKey('vm.mmap_min_addr', { target: 'host' }).class).toBe('escape');
    expect(classifyKey('kernel.core_pattern', { target: 'host', allowlist: ['kernel.*'] }).class).toBe('escape');
  });
});

describe('classifyKey: container target', () => {
  it.each([
    'kernel.msgmax',
    'kernel.msgmnb',
    'kernel.msgmni',
    'kernel.sem',
    'kernel.shmall',
    'kernel.shmmax',
    'kernel.shmmni',
    'kernel.shm_rmid_forced',
    'fs.mqueue.msg_max',
  ])('%s is namespaced-ipc', (key) => {
    expect(classifyKey(key, { target: 'container' }).class).toBe('namespaced-ipc');
  });

  it.each(['net.core.somaxconn', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.conf.all.rp_filter'])('%s is namespaced-net', (key) => {
    expect(classifyKey(key, { target: 'container' }).class).toBe('namespaced-net');
  });

  it.each(['vm.swappiness', 'fs.file-max', 'kernel.pid_max'])('%s is not-allowed: not namespaced', (key) => {
    expect(classifyKey(key, { target: 'container' })).toEqual({
      key,
      class: 'not-allowed',
      reason: 'not namespaced: Docker can set only IPC and net keys per container',
    });
  });
});

describe('classifyKey: host target', () => {
  it.each([
    'vm.swappiness',
    'net.core.somaxconn',
    'net.ipv4.tcp_fin_timeout',
    'net.ipv6.conf.all.forwarding',
    'fs.inotify.max_user_watches',
    'kernel.shmmax',
  ])('%s is a node key on the default allowlist', (key) => {
    const classified = classifyKey(key, { target: 'host' });
    expect(classified.class).toBe('node');
    expect(classified.reason).toContain('--allow host-sysctl');
  });

  it.each(['kernel.shm_rmid_forced', 'kernel.hostname', 'fs.mqueue.msg_max', 'net.bridge.bridge-nf-call-iptables', 'abi.vsyscall32'])(
    '%s is not on the allowlist',
    (key) => {
      expect(classifyKey(key, { target: 'host' })).toEqual({
        key,
        class: 'not-allowed',
        reason: 'not on the allowlist (extend it in the config, never with a flag)',
      });
    },
  );

  it('defaults to the host target and the default allowlist; a configured allowlist replaces it', () => {
    expect(classifyKey('vm.swappiness').class).toBe('node');
    expect(classifyKey('vm.swappiness', { allowlist: ['kernel.hostname'] }).class).toBe('not-allowed');
    expect(classifyKey('kernel.hostname', { allowlist: [...DEFAULT_NODE_ALLOWLIST, 'kernel.hostname'] }).class).toBe('node');
  });
});

describe('keys: forms', () => {
  it('normalizes the slash form to dots, as sysctl(8) does', () => {
    expect(classifyKey('vm/swappiness').key).toBe('vm.swappiness');
    expect(normalizeKey('net/ipv4/conf/eth0.100/rp_filter')).toBe('net.ipv4.conf.eth0/100.rp_filter');
    expect(classifyKey('kernel/core_pattern', { target: 'container' }).class).toBe('escape');
  });

  it.each(['', 'vm', 'vm.', '.vm.swappiness', 'vm..swappiness', 'VM.swappiness', 'vm.swappiness=10', 'vm.swap piness', 'vm.*', '../etc/passwd'])(
    'refuses the malformed key %j',
    (key) => {
      expect(() => classifyKey(key)).toThrow(UsageError);
    },
  );
});

describe('matchesPattern', () => {
  it('matches exactly, or by a * suffix wildcard with something after the prefix', () => {
    expect(matchesPattern('vm.swappiness', 'vm.*')).toBe(true);
    expect(matchesPattern('vm', 'vm.*')).toBe(false);
    expect(matchesPattern('vmx.foo', 'vm.*')).toBe(false);
    expect(matchesPattern('fs.protected_regular', 'fs.protected_*')).toBe(true);
    expect(matchesPattern('fs.file-max', 'fs.file-max')).toBe(true);
    expect(matchesPattern('fs.file-max2', 'fs.file-max')).toBe(false);
    expect(matchesPattern('net.netfilter.nf_conntrack_buckets', 'net.netfilter.nf_conntrack_max')).toBe(false);
  });
});

describe('validateValue', () => {
  it('trims and collapses whitespace, tabs included', () => {
    expect(validateValue('vm.swappiness', ' 10\n')).toBe('10');
    expect(validateValue('net.ipv4.ip_local_port_range', '1024\t \t65535')).toBe('1024 65535');
    expect(validateValue('net.ipv4.tcp_rmem', '4096  131072   6291456')).toBe('4096 131072 6291456');
  });

  it('keeps integers beyond a double exactly', () => {
    expect(validateValue('fs.file-max', '9223372036854775807')).toBe('9223372036854775807');
    expect(() => validateValue('fs.file-max', '18446744073709551616')).toThrow(/out of range/);
  });

  it.each([
    ['vm.swappiness', '201', /vm\.swappiness="201": 201 is out of range \(0–200\)/],
    ['vm.overcommit_memory', '3', /out of range/],
    ['vm.dirty_ratio', '101', /out of range/],
    ['vm.max_map_count', '0', /at least 1/],
    ['kernel.pid_max', '300', /301–4194304/],
    ['kernel.pid_max', '4194305', /out of range/],
    ['net.ipv4.ip_forward', '2', /out of range/],
    ['net.core.somaxconn', '2147483648', /out of range/],
    ['net.ipv4.ip_local_port_range', '65535 1024', /low ≤ high/],
    ['net.ipv4.ip_local_port_range', '0 1024', /out of range/],
    ['net.ipv4.ip_local_port_range', '1024', /expected 2 integers/],
    ['vm.swappiness', '10 20', /expected one integer/],
    ['vm.swappiness', 'ten', /"ten" is not a non-negative integer/],
    ['vm.swappiness', '-1', /not a non-negative integer/],
    ['vm.swappiness', '1.5', /not a non-negative integer/],
    ['vm.swappiness', '  ', /empty value/],
    ['net.ipv4.tcp_congestion_control', 'bbr; reboot', /single name/],
  ])('%s=%j is refused', (key, value, message) => {
    expect(() => validateValue(key, value)).toThrow(UsageError);
    expect(() => validateValue(key, value)).toThrow(message);
  });

  it('accepts the edges of each range, an equal port range, and overcommit_ratio above 100', () => {
    expect(validateValue('vm.swappiness', '0')).toBe('0');
    expect(validateValue('vm.swappiness', '200')).toBe('200');
    expect(validateValue('kernel.pid_max', '4194304')).toBe('4194304');
    expect(validateValue('net.ipv4.ip_local_port_range', '32768 32768')).toBe('32768 32768');
    expect(validateValue('vm.overcommit_ratio', '150')).toBe('150');
  });

  it('takes names for the string keys', () => {
    expect(validateValue('net.ipv4.tcp_congestion_control', ' bbr ')).toBe('bbr');
    expect(validateValue('net.core.default_qdisc', 'fq_codel')).toBe('fq_codel');
  });

  it('exports a range for every documented key', () => {
    expect(Object.keys(VALUE_RANGES)).toEqual(expect.arrayContaining(['vm.swappiness', 'net.ipv4.ip_local_port_range', 'kernel.pid_max']));
  });
});

describe('isRaise', () => {
  it('compares single integers numerically', () => {
    expect(isRaise('60', '10')).toBe(false);
    expect(isRaise('9', '10')).toBe(true);
    expect(isRaise('10', '10')).toBe(true);
    expect(isRaise('9223372036854775806', '9223372036854775807')).toBe(true);
  });

  it('compares lists elementwise: all higher or equal raises, all lower or equal lowers, mixed is ambiguous', () => {
    expect(isRaise('4096\t131072\t6291456', '4096 262144 16777216')).toBe(true);
    expect(isRaise('4096 262144 16777216', '4096 131072 6291456')).toBe(false);
    expect(isRaise('32768\t60999', '1024 65535')).toBeUndefined();
  });

  it('cannot tell for names or lists of different lengths', () => {
    expect(isRaise('cubic', 'bbr')).toBeUndefined();
    expect(isRaise('1 2', '1 2 3')).toBeUndefined();
  });
});
