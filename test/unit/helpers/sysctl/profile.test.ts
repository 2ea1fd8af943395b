import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dropInName, parseSysctlProfile } from '../../../../src/helpers/sysctl/profile.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

const GOOD = `profile: web-host
description: a web host
sysctls:
  vm/swappiness: 10
  net.ipv4.ip_local_port_range: [1024, 65535]
  net.core.somaxconn: "4096"
  net.ipv4.tcp_rmem: 4096  131072   6291456
  fs.file-max: 9223372036854775807
`;

describe('parseSysctlProfile', () => {
  it('reads a profile: keys in dot form, lists joined, values normalized, in file order, with their lines', () => {
    const { profile, problems } = parseSysctlProfile(GOOD, 'p.yaml');
    expect(problems).toEqual([]);
    expect(profile).toEqual({
      name: 'web-host',
      description: 'a web host',
      file: 'p.yaml',
      settings: [
        { key: 'vm.swappiness', value: '10', origin: 'p.yaml:4' },
        { key: 'net.ipv4.ip_local_port_range', value: '1024 65535', origin: 'p.yaml:5' },
        { key: 'net.core.somaxconn', value: '4096', origin: 'p.yaml:6' },
        { key: 'net.ipv4.tcp_rmem', value: '4096 131072 6291456', origin: 'p.yaml:7' },
        { key: 'fs.file-max', value: '9223372036854775807', origin: 'p.yaml:8' },
      ],
    });
    expect(dropInName(profile!.name)).toBe('60-dtool-web-host.conf');
  });

  it('reports every problem at once, each with its line and key', () => {
    const text = `profile: Web_Host
colour: blue
sysctls:
  kernel.core_pattern: "|/bin/sh"
  kernel.hostname: db1
  vm.swappiness: 201
  net.ipv4.ip_local_port_range: "65535 1024"
  vm.dirty_ratio: ten
  vm..bad: 1
  vm.max_map_count: 262144
  vm/max_map_count: 262144
  vm.overcommit_ratio: 1.5
  vm.overcommit_memory: true
  vm.dirty_background_ratio:
  fs.inotify.max_user_watches: {a: 1}
description: first
description: second
`;
    const { profile, problems } = parseSysctlProfile(text, 'bad.yaml');
    expect(profile).toBeUndefined();
    expect(problems.map((p) => `${p.origin} ${p.key}`)).toEqual([
      'bad.yaml:2 colour',
      'bad.yaml:17 description',
      'bad.yaml:1 profile',
      'bad.yaml:4 kernel.core_pattern',
      'bad.yaml:5 kernel.hostname',
      'bad.yaml:6 vm.swappiness',
      'bad.yaml:7 net.ipv4.ip_local_port_range',
      'bad.yaml:8 vm.dirty_ratio',
      'bad.yaml:9 vm..bad',
      'bad.yaml:11 vm.max_map_count',
      'bad.yaml:12 vm.overcommit_ratio',
      'bad.yaml:13 vm.overcommit_memory',
      'bad.yaml:14 vm.dirty_background_ratio',
      'bad.yaml:15 fs.inotify.max_user_watches',
    ]);
    const message = (key: string) => problems.find((p) => p.key === key)!.message;
    expect(message('colour')).toMatch(/unknown top-level key/);
    expect(message('description')).toBe('duplicate key (first at bad.yaml:16)');
    expect(message('profile')).toMatch(/lowercase letters/);
    expect(message('kernel.core_pattern')).toMatch(/refused: a "\|" handler runs as root on the host/);
    expect(message('kernel.hostname')).toMatch(/not on the allowlist/);
    expect(message('vm.swappiness')).toMatch(/out of range \(0–200\)/);
    expect(message('net.ipv4.ip_local_port_range')).toMatch(/low ≤ high/);
    expect(message('vm.dirty_ratio')).toMatch(/"ten" is not a non-negative integer/);
    expect(message('vm..bad')).toMatch(/not a sysctl key/);
    expect(message('vm.max_map_count')).toBe('duplicate key (first at bad.yaml:10)');
    expect(message('vm.overcommit_ratio')).toBe('expected an integer, not 1.5');
    expect(message('vm.overcommit_memory')).toMatch(/not true/);
    expect(message('vm.dirty_background_ratio')).toMatch(/not nothing/);
    expect(message('fs.inotify.max_user_watches')).toMatch(/list of integers/);
  });

  it('checks keys against a configured allowlist', () => {
    const text = 'profile: p\nsysctls:\n  kernel.threads-max: 100000\n';
    expect(parseSysctlProfile(text, 'p.yaml').problems).toEqual([]);
    expect(parseSysctlProfile(text, 'p.yaml', { allowlist: ['vm.*'] }).problems).toEqual([
      { origin: 'p.yaml:3', key: 'kernel.threads-max', message: 'not on the allowlist (extend it in the config, never with a flag)' },
    ]);
  });

  it('reports missing fields, an empty sysctls, and a file that is not a mapping', () => {
    expect(parseSysctlProfile('description: x\n', 'm.yaml').problems.map((p) => `${p.origin} ${p.key}`)).toEqual([
      'm.yaml profile',
      'm.yaml sysctls',
    ]);
    expect(parseSysctlProfile('profile: p\nsysctls: {}\n', 'e.yaml').problems).toEqual([
      { origin: 'e.yaml:2', key: 'sysctls', message: 'expected a non-empty mapping of sysctl keys to values' },
    ]);
    expect(parseSysctlProfile('- a\n', 'l.yaml').problems).toEqual([
      { origin: 'l.yaml:1', key: '-', message: 'a profile is a mapping with "profile:" and "sysctls:" keys' },
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const { profile, problems } = parseSysctlProfile('profile: p\nsysctls:\n  vm.swappiness: [10\n', 'y.yaml');
    expect(profile).toBeUndefined();
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]!.origin).toMatch(/^y\.yaml:\d+$/);
    expect(problems[0]!.message).toMatch(/^YAML: /);
  });

  it('parses the shipped recipes/database-host.sysctl.yaml clean', () => {
    const file = resolve(root, 'recipes/database-host.sysctl.yaml');
    const { profile, problems } = parseSysctlProfile(readFileSync(file, 'utf8'), file);
    expect(problems).toEqual([]);
    expect(profile!.name).toBe('database-host');
    expect(profile!.settings.map(({ key, value }) => `${key}=${value}`)).toEqual([
      'vm.swappiness=10',
      'vm.max_map_count=262144',
      'net.core.somaxconn=4096',
      'fs.file-max=2097152',
    ]);
  });
});
