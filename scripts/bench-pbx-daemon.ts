/**
 * The daemon under test for scripts/bench-pbx.ts, in its own process so that its CPU time and memory
 * can be read from /proc/<pid>. Usage: node --import tsx scripts/bench-pbx-daemon.ts <config.toml>
 * Prints "ready" on stdout once FastAGI listens; stops cleanly (records flushed) on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { ConfigLoader } from '../daemon/config/load-config.js';
import { Daemon } from '../daemon/main.js';
import { createLogger } from '../daemon/logger.js';

const path = process.argv[2];
if (!path) throw new Error('usage: bench-pbx-daemon <config.toml>');
const config = new ConfigLoader().fromText(readFileSync(path, 'utf8'), path);
// The daemon's own logger (redaction, destination), so that its cost per line is measured too.
const logger = createLogger({ level: config.log.level, format: 'json' });
const daemon = new Daemon(config, logger);
await daemon.start();
process.stdout.write('ready\n');
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  daemon.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(String(err) + '\n');
      process.exit(1);
    },
  );
});
