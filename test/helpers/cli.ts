/**
 * `runCli` in process, as the CLI tests call it: the arguments (and standard input), and what
 * the command wrote to each stream with its exit code.
 */
import { runCli } from '../../src/cli/run.js'

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs `bearer-guard` with `args`, standard input `stdin`, and collects its output.
 *
 * @example
 * ```ts
 * const { code, stdout } = await cli(['inspect', token, '--now', '1600000000'])
 * ```
 */
export async function cli(args: string[], stdin = ''): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const code = await runCli(args, {
    stdout: (text) => {
      stdout += text
    },
    stderr: (text) => {
      stderr += text
    },
    stdin: async () => stdin,
  })
  return { code, stdout, stderr }
}
