/**
 * What the library tells its caller while it works. No I/O here: the CLI renders events
 * to a terminal; a library user passes whatever reporter suits them.
 */
export type RunEvent =
  | { readonly type: 'image.build.start'; readonly image: string; readonly tag: string }
  | { readonly type: 'image.build.output'; readonly image: string; readonly line: string }
  | { readonly type: 'image.build.done'; readonly image: string; readonly tag: string; readonly cached: boolean }
  | { readonly type: 'helper.start'; readonly helper: string; readonly runId: string; readonly containerId: string }
  | { readonly type: 'helper.output'; readonly helper: string; readonly stream: 'stdout' | 'stderr'; readonly line: string }
  | { readonly type: 'helper.exit'; readonly helper: string; readonly runId: string; readonly exitCode: number; readonly durationMs: number }
  | { readonly type: 'target.start'; readonly target: string; readonly action: string }
  | { readonly type: 'target.done'; readonly target: string; readonly action: string; readonly ok: boolean; readonly message: string }
  | { readonly type: 'info'; readonly message: string }
  | { readonly type: 'warning'; readonly message: string };

export type Reporter = (event: RunEvent) => void;

export const silentReporter: Reporter = () => {};
