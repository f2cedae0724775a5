/**
 * `npm run demo` as a user runs it: a child process with the Entra ID emulator, an Express web
 * API and a Koa data API on 127.0.0.1, and MSAL getting real tokens (client credentials with a
 * secret, On-Behalf-Of with a certificate). The demo checks every outcome itself and exits
 * non-zero on any surprise; this test asserts it exits 0.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', 'demo'],
      { cwd: root, env, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
          stdout,
          stderr,
        })
      },
    )
  })
}

describe('npm run demo', () => {
  it('exits 0 with every outcome as expected', async () => {
    const { code, stdout, stderr } = await runDemo()
    expect({ code, stderr: code === 0 ? '' : stderr, stdout: code === 0 ? '' : stdout }).toEqual({
      code: 0,
      stderr: '',
      stdout: '',
    })
    expect(stdout).toMatch(/^all \d+ outcomes as expected$/m)
    expect(stdout).not.toMatch(/FAIL/)
    expect(stdout).toContain('AADSTS65001')
  }, 40_000)
})
