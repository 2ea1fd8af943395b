/** Errors of swarm runs: usage errors (exit 2), since nothing was started when they are thrown. */
import { UsageError, type DtoolErrorOptions } from '../errors.js';

/** The engine dtool talks to is no swarm manager: only a manager can run a swarm job. */
export class NotSwarmManagerError extends UsageError {
  constructor(message = 'this Docker engine is not a swarm manager', options: DtoolErrorOptions = {}) {
    super(message, {
      hint: 'point DOCKER_HOST at a manager node (docker node ls, run on a manager, lists them), or run without --swarm',
      ...options,
    });
  }
}

/** A helper needs something a swarm service cannot express (API 1.41): refused before anything runs. */
export class SwarmUnsupportedError extends UsageError {}
