// Peak RSS of one process: `node bench/memory-child.js <steps>` runs a sequential workflow of that
// many steps on MemoryStorage (0: an empty script) and prints its peak RSS in bytes.
'use strict';
const steps = Number(process.argv[2]);
if (steps > 0) {
  require('reflect-metadata');
  const { Step, WorkflowRunner, MemoryStorage } = require('../dist/lib');
  class Big {}
  for (let i = 0; i < steps; i++) {
    Object.defineProperty(Big.prototype, `s${i}`, { value: async () => ({ i }) });
    Step()(Big.prototype, `s${i}`, Object.getOwnPropertyDescriptor(Big.prototype, `s${i}`));
  }
  new WorkflowRunner({ storage: new MemoryStorage(), tracer: false })
    .run(new Big(), { workflowId: 'memory' })
    .then(() => process.stdout.write(String(process.resourceUsage().maxRSS * 1024)));
} else {
  process.stdout.write(String(process.resourceUsage().maxRSS * 1024));
}
