#!/usr/bin/env node
// The `callscreen` executable: the only place the CLI touches process.* directly.
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
// Let stdout drain (a piped export can be large) before exiting with the command's code.
process.exitCode = code;
