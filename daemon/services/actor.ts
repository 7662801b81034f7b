import type { EntrySource } from '../core/entry.js';

/** Who is making a change and through which door; recorded in entries and the audit log. */
export interface Actor {
  /** User name (`--by`, the signed-in user, `import`…). */
  readonly name: string;
  readonly source: EntrySource;
  /** Where from: `cli@host`, `api 127.0.0.1`, `panel 10.0.0.5`. */
  readonly origin: string;
}
