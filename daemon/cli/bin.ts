#!/usr/bin/env node
// The `callscreen` executable: the only place the CLI touches process.* directly.
import { runCli } from './program.js';

// A reader that stops early (`callscreen list | head -1`) closes the pipe: that is the reader's
// choice, not a failure, so end quietly with 0 (as if the output had been read), not with an
// unhandled 'error' and a stack trace. Any other failure of stdout (a full disk behind `>`) is one:
// exit 74 (CS_ERR_OUTPUT), saying why unless the command already failed on it and said so.
const output: { error: Error | null } = { error: null };
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    output.error ??= err;
  });
}

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
// An output error is reported asynchronously: give it one turn of the event loop to arrive.
await new Promise((resolve) => setImmediate(resolve));
if (output.error !== null && code === 0) {
  process.stderr.write(`callscreen: CS_ERR_OUTPUT: cannot write the output: ${output.error.message}\n`);
  process.exitCode = 74;
} else {
  // Let stdout drain (a piped export can be large) before exiting with the command's code.
  process.exitCode = code;
}
