/**
 * Resume: N-step workflows with N−1 steps committed (N = 100, 1,000, 10,000) on FileStorage and on
 * S3Storage against two local S3 servers (s3rver behind the specs' proxy, and Ceph's RADOS Gateway). Baseline: a run with resume off and nothing committed of a
 * one-step workflow on the same storage, i.e. the fixed cost of any run (lease, load, record, one
 * step, one commit, release), so measured − baseline is what loading N−1 checkpoints costs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readdir, rm } from 'node:fs/promises';
import { encodeSegment } from '../../lib/workflow-id';
import { FileStorage, SqliteStorage, WorkflowRunner, type CheckpointStorage } from '../../lib';
import { storedSteps, buildGraph } from '../../lib/graph';
import { S3Storage } from '../../lib/storage/s3';
import { encodeValue } from '../../lib/checkpoint-codec';
import { countRequests } from '../../spec/helpers/count-requests';
import { startS3 } from '../../spec/helpers/s3-server';
import { startRgw } from '../../spec/helpers/ceph-rgw';
import { generatedWorkflow, measurePair } from '../harness';

export interface ResumeRow {
  readonly storage: string;
  readonly steps: number;
  readonly resumeMs: number;
  readonly baselineMs: number;
  readonly ratio: number;
  /** S3 only: requests of one resume, by command. */
  readonly requests?: Record<string, number>;
}

const SIZES = [100, 1_000, 10_000];
const OneStep = generatedWorkflow(1, () => 'done');

/** Commits steps 0..n-2 of `workflow` directly, as an interrupted run would have left them. */
async function seed(storage: CheckpointStorage, workflowId: string, workflow: new () => object, n: number): Promise<void> {
  const graph = buildGraph(workflow);
  await storage.writeRecord(workflowId, { formatVersion: 1, workflowId, workflowName: graph.workflowName, fingerprint: 'seeded', steps: storedSteps(graph), updatedAt: new Date().toISOString() }, null);
  const names = graph.steps.slice(0, n - 1).map((s) => s.name);
  for (let i = 0; i < names.length; i += 100) {
    await Promise.all(names.slice(i, i + 100).map((step, k) => storage.commit(workflowId, { formatVersion: 1, step, status: 'completed', attempts: 1, committedAt: new Date().toISOString(), output: encodeValue(i + k + 1) })));
  }
}

/** Deletes one checkpoint behind the storage's back, to put a workflow back in its N−1 state. */
type DropCheckpoint = (workflowId: string, step: string) => Promise<void>;

async function resumeRows(name: string, storage: CheckpointStorage, drop: DropCheckpoint, counts?: Map<string, number>): Promise<ResumeRow[]> {
  const rows: ResumeRow[] = [];
  for (const n of SIZES) {
    const Workflow = generatedWorkflow(n, (i, ctx) => (typeof ctx.previous === 'number' ? ctx.previous : 0) + 1);
    const workflowId = `resume-${n}`;
    await seed(storage, workflowId, Workflow, n);
    const last = `s${n - 1}`;
    let b = 0;
    // Each resume runs the one open step; dropping its checkpoint and the record's completion
    // afterwards restores the N−1 state (else the next resume would be a late duplicate).
    const runner = new WorkflowRunner({ storage, tracer: false });
    const resume = async () => {
      await runner.run(new Workflow(), { workflowId, resume: true, fingerprint: 'seeded' });
      await drop(workflowId, last);
      const stored = (await storage.readRecord(workflowId))!;
      const { completion: _completion, ...record } = stored.record;
      await storage.writeRecord(workflowId, record, stored.version);
    };
    const result = await measurePair({
      measured: resume,
      baseline: () => runner.run(new OneStep(), { workflowId: `fresh-${n}-${b++}`, fingerprint: 'seeded' }),
      warmup: 1,
      rounds: n >= 10_000 ? 3 : 5,
    });
    let requests: Record<string, number> | undefined;
    if (counts) {
      counts.clear();
      await runner.run(new Workflow(), { workflowId, resume: true, fingerprint: 'seeded' });
      requests = Object.fromEntries(counts);
    }
    rows.push({ storage: name, steps: n, resumeMs: result.measuredMs, baselineMs: result.baselineMs, ratio: result.ratio, requests });
  }
  return rows;
}

/** The resume rows of S3Storage through `client`, with the requests of one resume by command. */
function s3ResumeRows(name: string, client: S3Client, admin: S3Client, bucket: string): Promise<ResumeRow[]> {
  const counts = countRequests(client);
  return resumeRows(
    name,
    new S3Storage({ client, bucket, prefix: 'bench' }),
    async (workflowId, step) => {
      await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: `bench/~workflows/${encodeSegment(workflowId)}/steps/${encodeSegment(step)}.json` }));
    },
    counts,
  );
}

export async function resume(): Promise<ResumeRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'waymark-bench-resume-'));
  const s3 = await startS3();
  try {
    const fileRows = await resumeRows('FileStorage', new FileStorage({ directory: dir }), async (workflowId, step) => {
      // Checkpoints sit in the directory named by the lease that last took the workflow.
      const workflowDir = join(dir, 'workflows', encodeSegment(workflowId));
      const steps = (await readdir(workflowDir)).find((name) => name.startsWith('steps'))!;
      await rm(join(workflowDir, steps, `${encodeSegment(step)}.json`));
    });
    const s3Rows = await s3ResumeRows('S3Storage (s3rver)', s3.client(), s3.client(), s3.bucket);
    // The same rows on a real S3 server, Ceph's RADOS Gateway (spec/helpers/ceph-rgw.ts).
    const rgw = await startRgw();
    const rgwRows = await s3ResumeRows('S3Storage (Ceph RGW)', rgw.client(), rgw.client(), await rgw.bucket());
    // SqliteStorage: a checkpoint dropped behind its back with a connection of its own.
    const path = join(dir, 'resume.db');
    const sqlite = new SqliteStorage({ path });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { DatabaseSync } = require('node:sqlite') as { DatabaseSync: new (path: string) => { prepare(sql: string): { run(...v: unknown[]): unknown }; close(): void } };
    const admin = new DatabaseSync(path);
    const drop = admin.prepare('DELETE FROM checkpoints WHERE workflow_id = ? AND step = ?');
    const sqliteRows = await resumeRows('SqliteStorage', sqlite, async (workflowId, step) => void drop.run(workflowId, step));
    admin.close();
    await sqlite.close();
    return [...fileRows, ...sqliteRows, ...s3Rows, ...rgwRows];
  } finally {
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
