/**
 * Resume in a fresh process: a 1,000-step workflow with 999 steps committed on FileStorage, resumed
 * by a new Node process that loads the compiled package (as a user's process would), timed inside
 * the child from `run()` to its result. Five children, each on its own seeded workflow; the median.
 * The child's first commit is the process's first: it starts a commit thread and, while that starts,
 * commits the `fs.promises` way.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage } from '../../lib';
import { buildGraph, storedSteps } from '../../lib/graph';
import { encodeValue } from '../../lib/checkpoint-codec';
import { generatedWorkflow } from '../harness';

export const FRESH_STEPS = 1_000;
const CHILDREN = 5;
const ROOT = join(__dirname, '..', '..');

/** The child: the same step names and bodies as the seeded workflow, from the compiled package. */
const child = `
require('reflect-metadata');
const { FileStorage, WorkflowRunner } = require(${JSON.stringify(join(ROOT, 'dist', 'lib'))});
const { Step } = require(${JSON.stringify(join(ROOT, 'dist', 'decorators'))});
class Generated {}
for (let i = 0; i < ${FRESH_STEPS}; i++) {
  const name = 's' + i;
  Object.defineProperty(Generated.prototype, name, { value: (ctx) => (typeof ctx.previous === 'number' ? ctx.previous : 0) + 1 });
  Step({})(Generated.prototype, name, Object.getOwnPropertyDescriptor(Generated.prototype, name));
}
const runner = new WorkflowRunner({ storage: new FileStorage({ directory: process.argv[1] }), tracer: false });
const started = performance.now();
runner.run(new Generated(), { workflowId: process.argv[2], resume: true, fingerprint: 'seeded' }).then((result) => {
  const ms = performance.now() - started;
  const restored = Object.values(result.steps).filter((s) => s.status === 'restored').length;
  console.log(JSON.stringify({ ms, output: result.output, restored }));
});
`;

function runChild(directory: string, workflowId: string): Promise<{ ms: number; output: unknown; restored: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', child, directory, workflowId], { cwd: ROOT }, (error, stdout, stderr) => {
      if (error) reject(new Error(`fresh-process resume failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout.trim()) as { ms: number; output: unknown; restored: number });
    });
  });
}

/** Milliseconds from `run()` to result in a fresh process (median of five), and what the run did. */
export async function freshResume(): Promise<{ medianMs: number; runsMs: number[] }> {
  const root = mkdtempSync(join(tmpdir(), 'waymark-bench-fresh-'));
  try {
    const Workflow = generatedWorkflow(FRESH_STEPS, (i, ctx) => (typeof ctx.previous === 'number' ? ctx.previous : 0) + 1);
    const graph = buildGraph(Workflow);
    const storage = new FileStorage({ directory: root });
    const runs: number[] = [];
    for (let c = 0; c < CHILDREN; c++) {
      const workflowId = `fresh-${c}`;
      await storage.writeRecord(workflowId, { formatVersion: 1, workflowId, workflowName: graph.workflowName, fingerprint: 'seeded', steps: storedSteps(graph), updatedAt: new Date().toISOString() }, null);
      const names = graph.steps.slice(0, FRESH_STEPS - 1).map((s) => s.name);
      for (let i = 0; i < names.length; i += 100) {
        await Promise.all(names.slice(i, i + 100).map((step, k) => storage.commit(workflowId, { formatVersion: 1, step, status: 'completed', attempts: 1, committedAt: new Date().toISOString(), output: encodeValue(i + k + 1) })));
      }
      const result = await runChild(root, workflowId);
      if (result.output !== FRESH_STEPS || result.restored !== FRESH_STEPS - 1) throw new Error(`fresh-process resume ran the wrong steps: ${JSON.stringify(result)}`);
      runs.push(result.ms);
    }
    return { medianMs: [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!, runsMs: runs };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
