/**
 * A real redis-server for tests, on a Unix socket in a temporary directory (no port to race
 * for), without persistence. Debian's `redis-server` package provides the binary; `.ci/run`
 * installs it when missing. Locally, without it, the tests that need it are skipped with a
 * message saying so; under CI=true they fail instead.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Whether a redis-server binary can be run here. */
export function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore', timeout: 5_000 })
    return true
  } catch {
    return false
  }
}

/** A running redis-server: its socket path, and how to stop it. */
export interface RedisServer {
  readonly socket: string
  stop(): Promise<void>
}

/** Starts redis-server and waits (at most 5 s) until its socket exists. */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'bearer-guard-redis-'))
  const socket = join(dir, 'redis.sock')
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  )
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once('exit', done))
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; i < 100 && !existsSync(socket); i++) {
    if (child.exitCode !== null) break
    await new Promise((done) => setTimeout(done, 50))
  }
  if (!existsSync(socket)) {
    await stop()
    throw new Error('redis-server did not start within 5 s')
  }
  return { socket, stop }
}
