import { describe, expect, it } from 'vitest';
import { currentOwner, linuxProcessTable, ownerState, startTicksFromStat, type OwnerIdentity } from '../../../src/host/owner.js';
import { fakeProcessTable } from '../../support/fake-docker.js';

const here: OwnerIdentity = { host: 'h', bootId: 'boot-1', pid: 10, startTicks: '500' };

describe('ownerState', () => {
  it('knows itself as alive', () => {
    expect(ownerState(here, here, fakeProcessTable({}))).toBe('alive');
  });

  it('calls a process that still runs with the recorded start time alive', () => {
    expect(ownerState({ ...here, pid: 20, startTicks: '700' }, here, fakeProcessTable({ 20: '700' }))).toBe('alive');
  });

  it('calls a pid with no process gone', () => {
    expect(ownerState({ ...here, pid: 20, startTicks: '700' }, here, fakeProcessTable({}))).toBe('gone');
  });

  it('calls a reused pid (another start time) gone', () => {
    expect(ownerState({ ...here, pid: 20, startTicks: '700' }, here, fakeProcessTable({ 20: '9999' }))).toBe('gone');
  });

  it('calls an owner from an earlier boot gone, even if its pid runs now', () => {
    expect(ownerState({ ...here, bootId: 'boot-0', pid: 20, startTicks: '700' }, here, fakeProcessTable({ 20: '700' }))).toBe('gone');
  });

  it('does not judge owners on other hosts', () => {
    expect(ownerState({ ...here, host: 'other', pid: 20 }, here, fakeProcessTable({}))).toBe('elsewhere');
  });

  it('without start times, goes by the pid alone', () => {
    expect(ownerState({ ...here, pid: 20, startTicks: '' }, here, fakeProcessTable({ 20: '' }))).toBe('alive');
    expect(ownerState({ ...here, pid: 20, startTicks: '' }, here, fakeProcessTable({}))).toBe('gone');
  });
});

describe('reading the process table', () => {
  it('takes field 22 of /proc/PID/stat, whatever the command name holds', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    expect(startTicksFromStat(`123 (a) b (c d) ${fields.join(' ')}`)).toBe('22');
  });

  it('identifies this process, and finds it alive', () => {
    const me = currentOwner();
    expect(me.pid).toBe(process.pid);
    expect(me.startTicks).toMatch(/^\d+$/);
    expect(me.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ownerState({ ...me, pid: process.ppid, startTicks: linuxProcessTable.startTicks(process.ppid)! }, me, linuxProcessTable)).toBe('alive');
  });
});
