// Daemon.stop(): every shutdown step runs even when one fails, and the first failure is reported.
// A reader connection that would not close (SQLite refusing: a statement left unfinalized) once
// made stop() throw before the database, the health probe's file and the daemon lock were released.
import { join } from 'node:path';
import t from 'tap';
import { CallscreenError } from '../daemon/core/errors.js';
import { captureLogger, startDaemon, tempDir } from './support/harness.js';

t.test(
  'a stop step that fails: the rest still run, the lock is released, the failure is thrown and logged',
  async (t) => {
    const dir = tempDir(t);
    const dbPath = join(dir, 'callscreen.db');
    const { logger, lines } = captureLogger();
    const { daemon, ctx } = await startDaemon(t, dbPath, { logger });
    const refusal = new CallscreenError('CS_ERR_DB_BUSY', 'reader would not close (test)');
    const realClose = ctx.reader.close.bind(ctx.reader);
    let readerCloseCalls = 0;
    ctx.reader.close = async () => {
      readerCloseCalls++;
      await realClose();
      throw refusal;
    };
    await t.rejects(daemon.stop(), refusal, 'stop() reports the failure');
    t.equal(readerCloseCalls, 1);
    t.ok(
      lines.some((l) => l.step === 'reader connection' && Number(l.level) >= 50),
      'the failed step is logged with its name, at error level',
    );
    // The database and the daemon lock were released after the failure: a second daemon starts on the file.
    const again = await startDaemon(t, dbPath);
    t.equal(typeof again.ctx.reader.close, 'function', 'a second daemon started on the same database');
    await t.resolves(daemon.stop(), 'a second stop is a no-op');
  },
);
