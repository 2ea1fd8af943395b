/**
 * `dtool doctor`: which engine dtool talks to and how (address, where that came from, TLS or
 * ssh), and what this engine can do for dtool — reachable, versions, storage driver,
 * whether privileged containers start (and if not, whether the explicit profile does), and
 * which base and helper images are present.
 */
import type { Deps } from '../deps.js';
import type { EngineEndpoint, EngineKind, EngineSource } from '../docker/engine-endpoint.js';
import { toDtoolError } from '../errors.js';
import type { PrivilegedMode } from '../core/helper-spec.js';
import { runHelper } from './run-helper.js';

export type ProbeResult =
  | { readonly works: true }
  | { readonly works: false; readonly reason: string }
  | { readonly works: 'unknown'; readonly reason: string };

/** The engine dtool talks to, and how: no certificate paths, only what was decided. */
export interface EndpointReport {
  readonly address: string;
  readonly kind: EngineKind;
  /** `DOCKER_HOST`, `context NAME` or `default`. */
  readonly via: EngineSource;
  /** tcp only: whether it is encrypted and the engine's certificate checked. */
  readonly tls: { readonly enabled: boolean; readonly verify: boolean } | null;
  readonly ssh: boolean;
}

export function endpointReport(endpoint: EngineEndpoint): EndpointReport {
  return {
    address: endpoint.address,
    kind: endpoint.kind,
    via: endpoint.source,
    tls: endpoint.kind === 'tcp' ? { enabled: endpoint.tls !== undefined, verify: endpoint.tls?.verify ?? false } : null,
    ssh: endpoint.kind === 'ssh',
  };
}

export interface DoctorReport {
  readonly ok: boolean;
  /** Absent only when the library was handed a DockerPort without its endpoint. */
  readonly endpoint?: EndpointReport;
  readonly engine:
    | {
        readonly reachable: true;
        /** The engine's ID and its host's name: which engine this is. */
        readonly id?: string;
        readonly name?: string;
        readonly serverVersion: string;
        readonly apiVersion: string;
        readonly os: string;
        readonly arch: string;
        readonly storageDriver: string;
        readonly cgroupVersion: string;
      }
    | { readonly reachable: false; readonly error: string; readonly hint?: string };
  readonly privileged?: { readonly flag: ProbeResult; readonly capabilities: ProbeResult; readonly configuredMode: PrivilegedMode };
  /** Whether a helper with only /proc/sys writable (and no capability) can write the host's sysctls. */
  readonly hostSysctl?: ProbeResult;
  readonly baseImage?: { readonly reference: string; readonly present: boolean; readonly sizeBytes?: number };
  readonly helperImages?: readonly { readonly name: string; readonly reference: string; readonly present: boolean }[];
}

async function probePrivileged(deps: Deps, mode: PrivilegedMode): Promise<ProbeResult> {
  // The probe is a helper run like any other, with the grant and the mode under test.
  const probeDeps: Deps = { ...deps, config: { ...deps.config, privilegedMode: mode, grants: [...deps.config.grants, 'privileged'] } };
  try {
    await runHelper(probeDeps, {
      helper: 'doctor-probe',
      image: deps.config.baseImage,
      command: ['true'],
      privileges: ['privileged'],
      network: { mode: 'none' },
      // The bare base image has no dtool-guard.
      guarded: false,
      timeoutMs: 60_000,
    });
    return { works: true };
  } catch (error) {
    return { works: false, reason: toDtoolError(error).message.replace(/\s+/g, ' ').slice(0, 300) };
  }
}

/** Writes nothing: access(2) on a sysctl file tells whether its mount is writable for this helper. */
async function probeHostSysctl(deps: Deps): Promise<ProbeResult> {
  const probeDeps: Deps = { ...deps, config: { ...deps.config, grants: [...deps.config.grants, 'host-sysctl'] } };
  try {
    const result = await runHelper(
      probeDeps,
      {
        helper: 'doctor-probe',
        image: deps.config.baseImage,
        command: ['test', '-w', '/proc/sys/vm/swappiness'],
        privileges: ['host-sysctl'],
        network: { mode: 'none' },
        guarded: false,
        timeoutMs: 60_000,
      },
      { allowFailure: true },
    );
    return result.exitCode === 0 ? { works: true } : { works: false, reason: '/proc/sys stays read-only for a helper with no capability' };
  } catch (error) {
    return { works: false, reason: toDtoolError(error).message.replace(/\s+/g, ' ').slice(0, 300) };
  }
}

export async function doctor(deps: Deps): Promise<DoctorReport> {
  const endpoint = deps.endpoint ? { endpoint: endpointReport(deps.endpoint) } : {};
  let engine: DoctorReport['engine'];
  try {
    const [version, info] = await Promise.all([deps.docker.version(), deps.docker.info()]);
    engine = {
      reachable: true,
      ...(info.id ? { id: info.id } : {}),
      ...(info.name ? { name: info.name } : {}),
      ...version,
      storageDriver: info.storageDriver,
      cgroupVersion: info.cgroupVersion,
    };
  } catch (error) {
    const failure = toDtoolError(error);
    return { ok: false, ...endpoint, engine: { reachable: false, error: failure.message, ...(failure.hint ? { hint: failure.hint } : {}) } };
  }

  const base = await deps.docker.inspectImage(deps.config.baseImage);
  const baseImage = { reference: deps.config.baseImage, present: base !== undefined, ...(base ? { sizeBytes: base.sizeBytes } : {}) };
  const unknown: ProbeResult = { works: 'unknown', reason: `needs the base image ${deps.config.baseImage}` };
  const privileged = {
    flag: base ? await probePrivileged(deps, 'flag') : unknown,
    capabilities: base ? await probePrivileged(deps, 'capabilities') : unknown,
    configuredMode: deps.config.privilegedMode,
  };
  const hostSysctl = base ? await probeHostSysctl(deps) : unknown;

  const helperImages = [];
  for (const name of await deps.images.names()) {
    const reference = deps.images.reference(name, await deps.images.contentHash(name));
    helperImages.push({ name, reference, present: (await deps.docker.inspectImage(reference)) !== undefined });
  }
  return { ok: baseImage.present, ...endpoint, engine, privileged, hostSysctl, baseImage, helperImages };
}
