/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self and inclusive time per function,
 * the top entries, with the share of all samples.
 *
 *   tsx bench/profile-summary.ts bench/.tmp/profiles/CPU.*.cpuprofile [top=30] [filter]
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileRow {
  name: string
  selfMs: number
  totalMs: number
  selfShare: number
  totalShare: number
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  const file = url === '' ? '' : url.replace(/^.*\/(node_modules\/)?/, '')
  return `${functionName || '(anonymous)'}${file === '' ? '' : ` ${file}:${lineNumber + 1}`}`
}

export function summarise(path: string): { rows: ProfileRow[]; totalMs: number } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  let totalUs = 0
  profile.samples.forEach((id, index) => {
    const us = profile.timeDeltas[index] ?? 0
    totalUs += us
    const node = byId.get(id) as ProfileNode
    const name = frameName(node)
    self.set(name, (self.get(name) ?? 0) + us)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const ancestor = frameName(byId.get(at) as ProfileNode)
      if (seen.has(ancestor)) continue
      seen.add(ancestor)
      total.set(ancestor, (total.get(ancestor) ?? 0) + us)
    }
  })
  const rows = [...total.keys()].map((name) => ({
    name,
    selfMs: (self.get(name) ?? 0) / 1000,
    totalMs: (total.get(name) ?? 0) / 1000,
    selfShare: (self.get(name) ?? 0) / totalUs,
    totalShare: (total.get(name) ?? 0) / totalUs,
  }))
  return { rows, totalMs: totalUs / 1000 }
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const [path, topArg, filter] = process.argv.slice(2)
  if (path === undefined)
    throw new Error('usage: profile-summary.ts <file.cpuprofile> [top] [filter]')
  const top = Number(topArg ?? 30)
  const { rows, totalMs } = summarise(path)
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)} %`
  console.log(`${path}: ${totalMs.toFixed(0)} ms sampled`)
  console.log('\nby self time')
  for (const row of [...rows].sort((a, b) => b.selfMs - a.selfMs).slice(0, top)) {
    console.log(`${pct(row.selfShare)}  ${row.name}`)
  }
  console.log('\nby inclusive time')
  for (const row of [...rows]
    .filter((entry) => filter === undefined || entry.name.includes(filter))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, top)) {
    console.log(`${pct(row.totalShare)}  ${row.name}`)
  }
}
