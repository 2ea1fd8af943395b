/**
 * What the benchmark scripts share: a bounded child process, the median, and rewriting one
 * marked section of BENCHMARKS.md. Each script keeps its own measurements and tables.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/**
 * A child process, bounded in time (SIGTERM after `timeoutSeconds`); resolves with its output
 * and wall time, rejects on a non-zero exit unless `allowFailure`. `env` is the child's whole
 * environment (default: this process's). A `children` set, when given, holds the running
 * child, so that the caller's signal handlers can stop it.
 */
export function runBounded(cmd, args, { env, timeoutSeconds = 300, allowFailure = false, children } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    children?.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutSeconds * 1000);
    child.on('error', (error) => {
      children?.delete(child);
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      children?.delete(child);
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0 && !allowFailure)
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-5).join('\n')}`));
      else resolve({ stdout, stderr, seconds, code });
    });
  });
}

/** The median of the finite values (the mean of the middle two for an even count); NaN for none. */
export function median(xs) {
  const sorted = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Replaces the `<!-- NAME:start -->…<!-- NAME:end -->` section of BENCHMARKS.md (or BENCH_DOC)
 * with `section`, or appends it under `heading`; returns the file's path.
 */
export function writeSection(root, name, section, heading) {
  const doc = process.env.BENCH_DOC ?? join(root, 'BENCHMARKS.md');
  const current = readFileSync(doc, 'utf8');
  const markers = new RegExp(`<!-- ${name}:start -->[\\s\\S]*<!-- ${name}:end -->`);
  writeFileSync(doc, markers.test(current) ? current.replace(markers, () => section) : `${current.trimEnd()}\n\n## ${heading}\n\n${section}\n`);
  return doc;
}
