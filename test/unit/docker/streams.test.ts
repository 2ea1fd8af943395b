import { describe, expect, it } from 'vitest';
import { FrameDemuxer, TailBuffer, lastLines, type OutputStream } from '../../../src/docker/streams.js';
import { frame } from '../../support/fake-docker.js';

function collect(): { demuxer: FrameDemuxer; frames: [OutputStream, string][] } {
  const frames: [OutputStream, string][] = [];
  return { demuxer: new FrameDemuxer((stream, payload) => frames.push([stream, payload.toString('utf8')])), frames };
}

describe('FrameDemuxer', () => {
  const wire = Buffer.concat([frame('stdout', 'hello\n'), frame('stderr', 'warning: x\n'), frame('stdout', 'é done')]);
  const expected: [OutputStream, string][] = [
    ['stdout', 'hello\n'],
    ['stderr', 'warning: x\n'],
    ['stdout', 'é done'],
  ];

  it('splits several frames arriving in one chunk, by stream', () => {
    const { demuxer, frames } = collect();
    demuxer.push(wire);
    expect(frames).toEqual(expected);
  });

  it('reassembles frames split at every byte offset', () => {
    for (let cut = 1; cut < wire.length; cut++) {
      const { demuxer, frames } = collect();
      demuxer.push(wire.subarray(0, cut));
      demuxer.push(wire.subarray(cut));
      expect(frames, `split at byte ${cut}`).toEqual(expected);
    }
  });

  it('reassembles frames fed one byte at a time', () => {
    const { demuxer, frames } = collect();
    for (const byte of wire) demuxer.push(Buffer.from([byte]));
    expect(frames).toEqual(expected);
  });

  it('emits nothing until a frame is complete', () => {
    const { demuxer, frames } = collect();
    const one = frame('stdout', 'abcdef');
    demuxer.push(one.subarray(0, 7));
    demuxer.push(one.subarray(7, 12));
    expect(frames).toEqual([]);
    demuxer.push(one.subarray(12));
    expect(frames).toEqual([['stdout', 'abcdef']]);
  });

  it('passes an empty frame through and keeps going', () => {
    const { demuxer, frames } = collect();
    demuxer.push(Buffer.concat([frame('stderr', ''), frame('stdout', 'x')]));
    expect(frames).toEqual([
      ['stderr', ''],
      ['stdout', 'x'],
    ]);
  });

  it('handles a payload larger than 64 KiB whose length needs all header bytes', () => {
    const { demuxer, frames } = collect();
    const big = 'y'.repeat(70_000);
    const bytes = frame('stdout', big);
    demuxer.push(bytes.subarray(0, 5));
    demuxer.push(bytes.subarray(5, 40_000));
    demuxer.push(bytes.subarray(40_000));
    expect(frames).toHaveLength(1);
    expect(frames[0]![1]).toHaveLength(70_000);
  });
});

describe('TailBuffer', () => {
  it('keeps everything, untruncated, under its limit', () => {
    const tail = new TailBuffer(10);
    tail.append(Buffer.from('abc'));
    tail.append(Buffer.from('defghij'));
    expect(tail.text()).toBe('abcdefghij');
    expect(tail.truncated).toBe(false);
  });

  it('keeps the last N bytes and says it cut', () => {
    const tail = new TailBuffer(5);
    tail.append(Buffer.from('abc'));
    tail.append(Buffer.from('defg'));
    expect(tail.text()).toBe('cdefg');
    expect(tail.truncated).toBe(true);
  });

  it('cuts inside a single chunk larger than the limit', () => {
    const tail = new TailBuffer(4);
    tail.append(Buffer.from('0123456789'));
    expect(tail.text()).toBe('6789');
    expect(tail.truncated).toBe(true);
  });

  it('drops whole old chunks as new ones arrive', () => {
    const tail = new TailBuffer(6);
    for (const piece of ['aa', 'bb', 'cc', 'dd', 'ee']) tail.append(Buffer.from(piece));
    expect(tail.text()).toBe('ccddee');
  });

  it('stays truncated once it has cut', () => {
    const tail = new TailBuffer(3);
    tail.append(Buffer.from('abcd'));
    tail.append(Buffer.from(''));
    expect(tail.truncated).toBe(true);
  });
});

describe('lastLines', () => {
  it('returns the last N non-empty lines without trailing spaces', () => {
    expect(lastLines('one\ntwo  \n\nthree\r\nfour\n\n', 2)).toEqual(['three', 'four']);
  });

  it('returns all lines when there are fewer than N, and none for empty text', () => {
    expect(lastLines('a\nb', 5)).toEqual(['a', 'b']);
    expect(lastLines('', 5)).toEqual([]);
    expect(lastLines('\n \n', 5)).toEqual([]);
  });
});
