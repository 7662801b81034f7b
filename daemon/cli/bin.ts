#!/usr/bin/env node
// The `callscreen` executable: the only place the CLI touches process.* directly.
import { runCli } from './program.js';

// A reader that stops early (`callscreen list | head -1`) closes the pipe: that is the reader's
// choice, not a failure, so end quietly with 0 (as if the output had been read), not with an
// unhandled 'error' and a stack trace. Any other failure of stdout (a full disk behind `>`) is one:
// say so and exit 74 (EX_IOERR); a command writing at the time fails on it too.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    if (stream !== process.stderr) process.stderr.write(`callscreen: CS_ERR_INTERNAL: cannot write output: ${err.message}\n`);
    process.exitCode = 74;
  });
}

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
// Let stdout drain (a piped export can be large) before exiting with the command's code; an output
// error seen meanwhile keeps its own code.
if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = code;
