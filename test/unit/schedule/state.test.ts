import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/schedule/scheduler.js';
import { FileStateStore, HISTORY_LIMIT, readJobStates } from '../../../src/schedule/state.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dtool-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const record = (id: string, overrides: Partial<RunRecord> = {}): RunRecord => ({
  id,
  job: 'nightly',
  instant: '2026-11-24T03:00:00.000Z',
  trigger: 'schedule',
  startedAt: '2026-11-24T03:00:00.010Z',
  status: 'running',
  delayMs: 10,
  ...overrides,
});

describe('FileStateStore', () => {
  it('keeps the last instant and the history across reopening', async () => {
    const { store } = await FileStateStore.open(dir);
    await store.save(record('r1'));
    await store.save(record('r1', { status: 'ok', endedAt: '2026-11-24T03:01:00.000Z', exitCode: 0 }));
    await store.markInstant('nightly', new Date('2026-11-25T03:00:00Z'));
    const { store: reopened, interrupted } = await FileStateStore.open(dir);
    expect(interrupted).toEqual([]);
    expect(reopened.lastInstant('nightly')?.toISOString()).toBe('2026-11-25T03:00:00.000Z');
    expect(reopened.history('nightly')).toMatchObject([{ id: 'r1', status: 'ok' }]);
    expect(JSON.parse(await readFile(join(dir, 'jobs', 'nightly.json'), 'utf8')).history).toHaveLength(1);
  });

  it('closes a run left "running" by a scheduler that died as interrupted', async () => {
    const { store } = await FileStateStore.open(dir);
    await store.save(record('r1'));
    const { store: reopened, interrupted } = await FileStateStore.open(dir, () => new Date('2026-11-24T04:00:00Z'));
    expect(interrupted).toMatchObject([{ id: 'r1', status: 'interrupted', endedAt: '2026-11-24T04:00:00.000Z' }]);
    expect(reopened.history('nightly')[0]!.status).toBe('interrupted');
    expect((await readJobStates(dir))[0]!.history[0]!.status).toBe('interrupted');
  });

  it(`keeps at most ${HISTORY_LIMIT} runs per job`, async () => {
    const { store } = await FileStateStore.open(dir);
    for (let i = 0; i < HISTORY_LIMIT + 5; i++) await store.save(record(`r${i}`, { status: 'ok' }));
    expect(store.history('nightly')).toHaveLength(HISTORY_LIMIT);
    expect(store.history('nightly')[0]!.id).toBe('r5');
  });

  it('never moves the last instant back, and manual runs do not move it', async () => {
    const { store } = await FileStateStore.open(dir);
    await store.markInstant('nightly', new Date('2026-11-25T03:00:00Z'));
    await store.markInstant('nightly', new Date('2026-11-20T03:00:00Z'));
    await store.save(record('m', { trigger: 'manual', instant: '2026-11-30T00:00:00.000Z', status: 'ok' }));
    expect(store.lastInstant('nightly')?.toISOString()).toBe('2026-11-25T03:00:00.000Z');
  });
});
