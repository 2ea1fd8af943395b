import { describe, expect, it } from 'vitest';
import { mapConcurrent } from '../../../src/run/concurrency.js';

/** A task whose completion the test controls, tracking how many run at once. */
function tracker() {
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  const task = async (item: number, index: number) => {
    running++;
    peak = Math.max(peak, running);
    started.push(index);
    // Finish in an order unrelated to the start order.
    await new Promise((resolve) => setTimeout(resolve, (item * 7) % 5));
    running--;
    return `r${item}`;
  };
  return { task, peak: () => peak, started };
}

describe('mapConcurrent', () => {
  it.each([1, 2, 3, 10])('never runs more than %i at once and keeps the results in item order', async (limit) => {
    const items = [5, 1, 4, 2, 3, 0, 6, 9];
    const t = tracker();
    const results = await mapConcurrent(items, limit, t.task);
    expect(results).toEqual(items.map((i) => `r${i}`));
    expect(t.peak()).toBe(Math.min(limit, items.length));
    expect(t.started.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('runs one at a time when the limit is below 1', async () => {
    const t = tracker();
    expect(await mapConcurrent([1, 2, 3], 0, t.task)).toEqual(['r1', 'r2', 'r3']);
    expect(t.peak()).toBe(1);
  });

  it('returns an empty list for no items without calling the task', async () => {
    let calls = 0;
    expect(await mapConcurrent([], 4, async () => ++calls)).toEqual([]);
    expect(calls).toBe(0);
  });

  it('rejects when a task rejects', async () => {
    await expect(
      mapConcurrent([1, 2], 2, async (i) => {
        if (i === 2) throw new Error('task 2 failed');
        return i;
      }),
    ).rejects.toThrow('task 2 failed');
  });
});
