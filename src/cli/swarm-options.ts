/** `--swarm`, `--constraint` and `--registry`, shared by the commands that run as Swarm jobs. */
import type { Command } from 'commander';
import { parseSwarmSettings, type SwarmSettings } from '../swarm/options.js';
import { collect } from './context.js';

export interface RawSwarmOptions {
  readonly swarm?: boolean;
  readonly constraint?: string[];
  readonly registry?: string;
}

export function withSwarmOptions(command: Command): Command {
  return command
    .option('--swarm', 'run on every node of the swarm this engine manages (a global Swarm job): one report per node')
    .option('--constraint <expr>', 'with --swarm: only the nodes matching, e.g. node.role==worker, node.labels.disk!=hdd (repeatable)', collect)
    .option('--registry <host>', "with --swarm: push the helper image there for the nodes to pull (default: load it into each node's engine)");
}

/** The validated swarm options, or undefined without --swarm (then --constraint and --registry are errors). */
export function parseSwarmOptions(raw: RawSwarmOptions): SwarmSettings | undefined {
  return parseSwarmSettings(raw);
}
