// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is Dockerfile ARG syntax, not a JS placeholder.
import { describe, expect, it } from 'vitest';
import { baseImages, expandArgs } from '../../../src/core/dockerfile.js';

const lines = (...text: string[]): string => `${text.join('\n')}\n`;

describe('baseImages', () => {
  it('reads the image of a single FROM', () => {
    expect(baseImages(lines('FROM debian:bookworm-slim', 'RUN true'))).toEqual({ images: ['debian:bookworm-slim'], unresolved: [] });
  });

  it('leaves out stages named with AS when later lines build from them', () => {
    const dockerfile = lines(
      'FROM golang:1.22 AS build',
      'RUN go build -o /app .',
      'FROM build AS test',
      'RUN go test ./...',
      'FROM gcr.io/distroless/static',
      'COPY --from=build /app /app',
    );
    expect(baseImages(dockerfile).images).toEqual(['golang:1.22', 'gcr.io/distroless/static']);
  });

  it('counts an image used before a stage of the same name exists as external', () => {
    expect(baseImages(lines('FROM alpine', 'FROM debian AS alpine', 'FROM alpine')).images).toEqual(['alpine', 'debian']);
  });

  it('leaves out scratch', () => {
    expect(baseImages(lines('FROM alpine AS certs', 'FROM scratch', 'COPY --from=certs /etc/ssl /etc/ssl')).images).toEqual(['alpine']);
  });

  it('skips flags such as --platform', () => {
    expect(baseImages(lines('FROM --platform=$BUILDPLATFORM golang:1.22 AS build', 'FROM --platform=linux/amd64 alpine:3.20')).images).toEqual([
      'golang:1.22',
      'alpine:3.20',
    ]);
  });

  it('reads keywords in any case, and AS in any case', () => {
    expect(baseImages(lines('from alpine:3.20 as Base', 'From base', 'fRoM BASE')).images).toEqual(['alpine:3.20']);
  });

  it('lists each image once, in order of first use', () => {
    expect(baseImages(lines('FROM b', 'FROM a', 'FROM b', 'FROM a')).images).toEqual(['b', 'a']);
  });

  it('applies global ARG defaults, quoted or not, several on one line', () => {
    const dockerfile = lines('ARG REGISTRY=docker.io DEBIAN="bookworm"', "ARG SUFFIX='-slim'", 'FROM $REGISTRY/library/debian:${DEBIAN}${SUFFIX}');
    expect(baseImages(dockerfile).images).toEqual(['docker.io/library/debian:bookworm-slim']);
  });

  it('lets build arguments override global ARG defaults, and fill ARGs without one', () => {
    const dockerfile = lines('ARG BASE=alpine', 'ARG TAG', 'FROM ${BASE}:${TAG}');
    expect(baseImages(dockerfile, { BASE: 'debian', TAG: '12' }).images).toEqual(['debian:12']);
  });

  it('ignores build arguments the Dockerfile does not declare before its first FROM', () => {
    expect(baseImages(lines('FROM ${BASE:-alpine}'), { BASE: 'debian' }).images).toEqual(['alpine']);
  });

  it('ignores ARGs declared after the first FROM, which are stage-scoped', () => {
    expect(baseImages(lines('ARG V=1', 'FROM img:$V', 'ARG V=2', 'FROM img:$V')).images).toEqual(['img:1']);
  });

  it('uses ${X:-default} when X is unset or empty, and X otherwise', () => {
    const dockerfile = lines('ARG EMPTY=', 'ARG SET=debian', 'FROM ${UNSET:-alpine}', 'FROM ${EMPTY:-busybox}', 'FROM ${SET:-ubuntu}');
    expect(baseImages(dockerfile).images).toEqual(['alpine', 'busybox', 'debian']);
  });

  it('reports a FROM whose image is an ARG without a value as unresolved, not as an image', () => {
    const dockerfile = lines('ARG BASE', 'FROM $BASE AS build', 'FROM alpine');
    expect(baseImages(dockerfile)).toEqual({ images: ['alpine'], unresolved: ['FROM $BASE AS build'] });
  });

  it('joins continuation lines and drops comments and blank lines', () => {
    const dockerfile = lines(
      '# syntax=docker/dockerfile:1',
      '',
      'ARG BASE=alpine \\',
      '  TAG=3.20',
      '   # FROM commented:out',
      'FROM \\',
      '  --platform=linux/arm64 \\',
      '  ${BASE}:${TAG} \\',
      '  AS base',
      'RUN echo \\',
      '  FROM not-an-image',
      'FROM base',
    );
    expect(baseImages(dockerfile)).toEqual({ images: ['alpine:3.20'], unresolved: [] });
  });

  it('reads Windows line endings', () => {
    expect(baseImages('ARG TAG=3.20\r\nFROM alpine:$TAG\r\n')).toEqual({ images: ['alpine:3.20'], unresolved: [] });
  });

  it('keeps a continuation on the last line without a newline', () => {
    expect(baseImages('FROM alpine \\').images).toEqual(['alpine']);
  });

  // The builder drops comment lines inside a continuation; here the comment ends the
  // instruction instead, so "#" is read as the image and golang is never seen.
  it('skips a comment line inside a continued FROM', () => {
    const dockerfile = lines('FROM --platform=$BUILDPLATFORM \\', '  # pinned for reproducible builds', '  golang:1.22 AS build');
    expect(baseImages(dockerfile)).toEqual({ images: ['golang:1.22'], unresolved: [] });
  });

  // Likewise the builder skips (with a deprecation warning) an empty line inside a
  // continuation; here it ends the instruction, leaving a FROM without an image.
  it('skips an empty line inside a continued FROM', () => {
    expect(baseImages(lines('FROM \\', '', '  alpine:3.20 AS base'))).toEqual({ images: ['alpine:3.20'], unresolved: [] });
  });

  it('finds nothing in a Dockerfile without FROM', () => {
    expect(baseImages('')).toEqual({ images: [], unresolved: [] });
    expect(baseImages(lines('# only a comment', 'ARG X=1'))).toEqual({ images: [], unresolved: [] });
  });
});

describe('expandArgs', () => {
  const values = { NAME: 'alpine', TAG: '3.20', EMPTY: '', UNSET: undefined };

  it('expands $NAME and ${NAME}', () => {
    expect(expandArgs('$NAME:${TAG}', values)).toBe('alpine:3.20');
    expect(expandArgs('${NAME}-slim', values)).toBe('alpine-slim');
  });

  it('reads the longest name after a bare $', () => {
    expect(expandArgs('$NAME_X/$NAME', values)).toBe('/alpine');
  });

  it('expands an unset or undeclared name to nothing', () => {
    expect(expandArgs('a${UNSET}b$MISSING', values)).toBe('ab');
  });

  it('uses the default of ${X:-word} when X is unset or empty', () => {
    expect(expandArgs('${UNSET:-debian}', values)).toBe('debian');
    expect(expandArgs('${EMPTY:-debian}', values)).toBe('debian');
    expect(expandArgs('${NAME:-debian}', values)).toBe('alpine');
    expect(expandArgs('${UNSET:-}', values)).toBe('');
  });

  it('uses the alternative of ${X:+word} only when X is set and not empty', () => {
    expect(expandArgs('img${TAG:+:$TAG}', values)).toBe('img:$TAG');
    expect(expandArgs('img${EMPTY:+-x}', values)).toBe('img');
    expect(expandArgs('img${UNSET:+-x}', values)).toBe('img');
  });

  it('leaves text without references alone', () => {
    expect(expandArgs('registry.example:5000/team/app@sha256:abc', values)).toBe('registry.example:5000/team/app@sha256:abc');
  });
});
