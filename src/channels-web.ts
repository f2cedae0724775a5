/**
 * The tracing channels on the WebCrypto build (workerd, edge-light, browsers): the runtime's own
 * `node:diagnostics_channel` when `process.getBuiltinModule` offers it (workerd with
 * `nodejs_compat`), without naming it in an import, so a bundle for a runtime without it (workerd
 * without `nodejs_compat`) resolves; else channels nobody can subscribe to, whose
 * `hasSubscribers` is always false, so the core never publishes.
 */
import type * as diagnostics from 'node:diagnostics_channel'

type TracingChannelOf = typeof diagnostics.tracingChannel

interface ProcessWithBuiltins {
  getBuiltinModule?: (id: string) => unknown
}

function builtinChannels(): typeof diagnostics | undefined {
  try {
    const process = (globalThis as { process?: ProcessWithBuiltins }).process
    const found = process?.getBuiltinModule?.('node:diagnostics_channel')
    return typeof (found as typeof diagnostics | undefined)?.tracingChannel === 'function'
      ? (found as typeof diagnostics)
      : undefined
  } catch {
    return undefined
  }
}

/** A channel of a tracing channel that nobody can subscribe to. */
const SILENT = Object.freeze({
  hasSubscribers: false,
  publish() {},
  subscribe() {},
  unsubscribe: () => false,
  bindStore() {},
  unbindStore: () => false,
  runStores: <R>(_message: unknown, run: () => R): R => run(),
})

function silentTracingChannel(): ReturnType<TracingChannelOf> {
  return Object.freeze({
    hasSubscribers: false,
    start: SILENT,
    end: SILENT,
    asyncStart: SILENT,
    asyncEnd: SILENT,
    error: SILENT,
    subscribe() {},
    unsubscribe: () => false,
    traceSync: <R>(run: () => R): R => run(),
    tracePromise: <R>(run: () => Promise<R>): Promise<R> => run(),
    traceCallback: <R>(
      run: (...args: unknown[]) => R,
      _position?: number,
      _context?: unknown,
      thisArg?: unknown,
      ...args: unknown[]
    ): R => run.apply(thisArg, args),
  }) as unknown as ReturnType<TracingChannelOf>
}

export const tracingChannel: TracingChannelOf =
  builtinChannels()?.tracingChannel ?? (silentTracingChannel as unknown as TracingChannelOf)
