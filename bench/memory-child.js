// One process's memory: `node --expose-gc bench/memory-child.js <mode> <steps>` prints
// { maxRss, retained } in bytes. Modes: `empty` (nothing), `engine` (a sequential workflow of that many
// steps on MemoryStorage, result held), `bare` (a loop keeping the same outputs and checkpoint strings).
'use strict';
const [mode, stepsArg] = process.argv.slice(2);
const steps = Number(stepsArg);

// Peak RSS of this process. On Linux ru_maxrss (process.resourceUsage) keeps the high-water mark of
// the parent at fork time across exec, so it reads VmHWM of this address space instead.
function peakRss() {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

function report(retained) {
  process.stdout.write(JSON.stringify({ maxRss: peakRss(), retained }));
}

function heap() {
  global.gc();
  return process.memoryUsage().heapUsed;
}

async function main() {
  if (mode === 'empty') return report(0);
  require('reflect-metadata');
  const { Step, WorkflowRunner, MemoryStorage } = require('../dist/lib');
  const { encodeValue } = require('../dist/lib/checkpoint-codec');
  const fns = Array.from({ length: steps }, (_, i) => async () => ({ i }));
  class Big {}
  for (let i = 0; i < steps; i++) {
    Object.defineProperty(Big.prototype, `s${i}`, { value: fns[i] });
    Step()(Big.prototype, `s${i}`, Object.getOwnPropertyDescriptor(Big.prototype, `s${i}`));
  }
  const before = heap();
  let kept;
  if (mode === 'engine') {
    const storage = new MemoryStorage();
    const result = await new WorkflowRunner({ storage, tracer: false }).run(new Big(), { workflowId: 'memory' });
    kept = [storage, result];
  } else {
    const outputs = new Map();
    const checkpoints = new Map();
    for (let i = 0; i < steps; i++) {
      const output = await fns[i]();
      outputs.set(`s${i}`, output);
      checkpoints.set(`s${i}`, JSON.stringify({ formatVersion: 1, step: `s${i}`, status: 'completed', attempts: 1, committedAt: new Date().toISOString(), output: encodeValue(output) }));
    }
    kept = [outputs, checkpoints];
  }
  const retained = heap() - before;
  report(retained);
  return kept;
}

main();
