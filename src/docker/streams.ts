/**
 * Demultiplexing of a container's output (Tty: false). The engine frames each chunk with
 * an 8-byte header: stream type (1 = stdout, 2 = stderr), three zero bytes, and a
 * big-endian payload length. Frames may be split across chunks, so we buffer.
 */

export type OutputStream = 'stdout' | 'stderr';

export class FrameDemuxer {
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: OutputStream, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 8) {
      const length = this.#pending.readUInt32BE(4);
      if (this.#pending.length < 8 + length) return;
      const type = this.#pending[0];
      const payload = this.#pending.subarray(8, 8 + length);
      this.#pending = this.#pending.subarray(8 + length);
      // Type 0 (stdin) never carries output; anything but 1 is treated as stderr.
      this.onFrame(type === 1 ? 'stdout' : 'stderr', payload);
    }
  }
}

/**
 * Keeps the last `limitBytes` of a stream, and says when it had to cut: a helper that
 * prints gigabytes must not take dtool's memory with it.
 */
export class TailBuffer {
  #chunks: Buffer[] = [];
  #size = 0;
  #truncated = false;

  constructor(private readonly limitBytes: number) {}

  append(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size > this.limitBytes && this.#chunks.length > 0) {
      const first = this.#chunks[0]!;
      const excess = this.#size - this.limitBytes;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#size -= first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#size -= excess;
      }
      this.#truncated = true;
    }
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

/** The last `count` non-empty lines of a text. */
export function lastLines(text: string, count: number): string[] {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '')
    .slice(-count);
}

/** Splits arriving chunks into lines for `onLine`, holding back a partial last line. */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer | undefined) => void {
  let pending = '';
  return (chunk) => {
    if (chunk === undefined) {
      if (pending) onLine(pending);
      pending = '';
      return;
    }
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
}
