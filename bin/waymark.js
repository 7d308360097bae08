#!/usr/bin/env node
'use strict';
// The `waymark` command; the implementation is compiled to dist/ by `npm run build`.
// A reader that stops early (`waymark list | head -1`) closes the pipe: that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
require('../dist/lib/cli/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
