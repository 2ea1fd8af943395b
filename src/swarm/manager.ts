/** Only a swarm manager can place work on the swarm: the check every swarm command starts with. */
import type { DockerPort } from '../docker/port.js';
import { NotSwarmManagerError } from './errors.js';

/** This engine's swarm node ID; throws unless it is a manager. */
export async function managerNodeId(docker: DockerPort): Promise<string> {
  const swarm = (await docker.info()).swarm;
  if (!swarm?.isManager) {
    throw new NotSwarmManagerError(
      swarm?.localState === 'active'
        ? 'this Docker engine is a swarm worker, not a manager: only a manager can place work on the swarm'
        : `this Docker engine is not part of a swarm (swarm state: ${swarm?.localState ?? 'unknown'})`,
    );
  }
  return swarm.nodeId;
}
