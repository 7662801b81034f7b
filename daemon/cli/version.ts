/**
 * The version `callscreen --version` prints: package.json's "version", found by walking up from
 * this module (daemon/cli in the sources, dist/daemon/cli when built, /usr/lib/callscreen/dist/…
 * in the Debian package, which ships package.json beside dist). Read when asked, not at import.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directories climbed at most looking for package.json (dist/daemon/cli → the root is 3). */
const MAX_UP = 5;

export function packageVersion(moduleUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (let i = 0; i <= MAX_UP; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'callscreen' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no (readable) package.json here: keep climbing
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
