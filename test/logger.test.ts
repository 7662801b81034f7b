import t from 'tap';
import { flushOnlyWhenWritten, type FlushableDestination } from '../daemon/logger.js';

/** A destination that counts what pino's buffered destination would be asked to do. */
function fakeDestination(): FlushableDestination & { lines: string[]; flushes: number; failNext: boolean } {
  const d = {
    lines: [] as string[],
    flushes: 0,
    failNext: false,
    write(line: string): boolean {
      d.lines.push(line);
      return true;
    },
    flush(cb?: (err?: Error | null) => void): void {
      if (d.failNext) {
        d.failNext = false;
        throw new Error('sonic boom is not ready yet');
      }
      d.flushes++;
      cb?.(null);
    },
  };
  return d;
}

t.test('the flush timer flushes only when a line was written since its last tick', (t) => {
  const dest = fakeDestination();
  const f = flushOnlyWhenWritten(dest);
  f.tick();
  f.tick();
  t.equal(dest.flushes, 0, 'a quiet daemon asks for no empty write');
  f.stream.write('{"msg":"one"}\n');
  f.stream.write('{"msg":"two"}\n');
  t.same(dest.lines, ['{"msg":"one"}\n', '{"msg":"two"}\n'], 'lines go through unchanged');
  f.tick();
  t.equal(dest.flushes, 1, 'the lines are flushed at the next tick');
  f.tick();
  t.equal(dest.flushes, 1, 'and not again while nothing new was written');
  t.end();
});

t.test('a flush that fails (destination not open yet) is tried again at the next tick', (t) => {
  const dest = fakeDestination();
  const f = flushOnlyWhenWritten(dest);
  f.stream.write('{"msg":"early"}\n');
  dest.failNext = true;
  t.doesNotThrow(() => f.tick(), 'the timer never throws');
  t.equal(dest.flushes, 0);
  f.tick();
  t.equal(dest.flushes, 1, 'the line is flushed at the tick after');
  t.end();
});

t.test("pino's own flush (logger.flush at exit) always reaches the destination", (t) => {
  const dest = fakeDestination();
  const f = flushOnlyWhenWritten(dest);
  let called = false;
  f.stream.flush(() => {
    called = true;
  });
  t.equal(dest.flushes, 1);
  t.ok(called, 'with its callback');
  f.stream.write('{"msg":"x"}\n');
  f.stream.flush();
  f.tick();
  t.equal(dest.flushes, 2, 'a line flushed by pino is not flushed again by the timer');
  t.end();
});
