#!/usr/bin/env node
'use strict';
// The `waymark` command; the implementation is compiled to dist/ by `npm run build`.
require('../dist/lib/cli/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
