import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { matchesConstraint, parseConstraint, parseConstraints, selectNodes } from '../../../src/swarm/constraints.js';
import { swarmNode } from '../../support/fake-docker.js';

const manager = swarmNode('manager', { role: 'manager', labels: { 'dtool.engine': 'unix:///m.sock', zone: 'a' } });
const worker1 = swarmNode('worker1', { labels: { zone: 'b' } });
const worker2 = swarmNode('worker2', { arch: 'aarch64' });
const nodes = [manager, worker1, worker2];

describe('parseConstraint', () => {
  it('reads the keys Swarm knows, with == and !=', () => {
    expect(parseConstraint('node.hostname==worker1')).toEqual({
      key: { kind: 'hostname' },
      operator: '==',
      value: 'worker1',
      text: 'node.hostname==worker1',
    });
    expect(parseConstraint(' node.labels.zone != b ')).toMatchObject({
      key: { kind: 'label', name: 'zone' },
      operator: '!=',
      value: 'b',
      text: 'node.labels.zone!=b',
    });
    expect(parseConstraint('node.platform.arch==amd64').key).toEqual({ kind: 'arch' });
    expect(parseConstraint('node.id!=abc').key).toEqual({ kind: 'id' });
  });

  it('refuses what Swarm would not take, as a usage error', () => {
    for (const bad of ['node.hostname=worker1', 'engine.labels.x==1', 'node.role==boss', 'node.hostname==', '==x']) {
      expect(() => parseConstraint(bad), bad).toThrow(UsageError);
    }
  });
});

describe('matching', () => {
  it('compares case-insensitively and knows arch aliases', () => {
    expect(matchesConstraint(worker1, parseConstraint('node.hostname==WORKER1'))).toBe(true);
    expect(matchesConstraint(worker2, parseConstraint('node.platform.arch==arm64'))).toBe(true);
    expect(matchesConstraint(worker1, parseConstraint('node.platform.arch==amd64'))).toBe(true);
  });

  it('a missing label satisfies != only', () => {
    expect(matchesConstraint(worker2, parseConstraint('node.labels.zone==b'))).toBe(false);
    expect(matchesConstraint(worker2, parseConstraint('node.labels.zone!=b'))).toBe(true);
  });

  it('selects the nodes every constraint matches', () => {
    expect(selectNodes(nodes, []).map((n) => n.hostname)).toEqual(['manager', 'worker1', 'worker2']);
    expect(selectNodes(nodes, parseConstraints(['node.role==worker'])).map((n) => n.hostname)).toEqual(['worker1', 'worker2']);
    expect(selectNodes(nodes, parseConstraints(['node.role==worker', 'node.labels.zone!=b'])).map((n) => n.hostname)).toEqual(['worker2']);
  });

  it('a constraint no node matches is a usage error naming the nodes', () => {
    const attempt = () => selectNodes(nodes, parseConstraints(['node.hostname==nowhere']));
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(/no swarm node matches --constraint node.hostname==nowhere/);
    try {
      attempt();
    } catch (error) {
      expect((error as UsageError).hint).toContain('worker1 (worker');
    }
  });
});
