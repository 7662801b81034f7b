/**
 * A task that runs one at a time, whose callers always get a run that started after they asked.
 *
 * Joining a run already in progress is not enough: it read its input (a queue it took, a
 * `data_version`, a shipped-up-to mark) before the caller's change, and would resolve without it.
 * A caller that asks while a run is in progress gets the next run, which starts once the current one
 * has settled. Every caller meanwhile shares that next run, so at most one run waits and a busy
 * timer (a flush every 50 ms behind a write held 1 s by a lock) never piles runs up.
 *
 * Used by the change feed's poll, the recorder's flush, the record shipper, the replicator's catch-up
 * and the dialplan fail counter: each "resolves when done" means done with everything before the call.
 */
export class CoalescedTask {
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  /** `task` is run with no overlap; its rejection goes to the callers of that run only. */
  constructor(private readonly task: () => Promise<void>) {}

  /** Runs the task, or queues one run after the one in progress; settles with that run. */
  run(): Promise<void> {
    if (this.running === null) return this.start();
    this.next ??= this.running.then(settled, settled).then(() => {
      this.next = null;
      return this.start();
    });
    return this.next;
  }

  /** Resolves once no run is in progress or queued (a run's failure is its callers' to see). */
  async settled(): Promise<void> {
    while (this.running !== null || this.next !== null) await (this.next ?? this.running)?.then(settled, settled);
  }

  private start(): Promise<void> {
    const run: Promise<void> = this.task().finally(() => {
      // With a run queued, `running` stays set until it starts: a caller in between joins the queued
      // run instead of starting one beside it.
      if (this.running === run && this.next === null) this.running = null;
    });
    this.running = run;
    return run;
  }
}

function settled(): void {
  /* a run's outcome is delivered to its callers; here only its end matters */
}
