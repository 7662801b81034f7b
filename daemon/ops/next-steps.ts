/**
 * What `callscreen doctor` tells an admin to do next on a fresh install (issue #19): the steps a new
 * site still lacks, with the real paths of this installation — the shipped dialplan snippets (the
 * Debian package puts them in /usr/share/callscreen, a source checkout has them in config/), the
 * config file to edit, the database. A step is shown only while it is still to do: no organisation
 * or no panel user yet, no PBX link configured, no call screened yet.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.js';
import { Database } from '../store/database.js';

export interface NextStepsInput {
  readonly config: Config;
  /** The config file in use, or null for embedded defaults. */
  readonly configSource: string | null;
  readonly dbPath: string;
  /** Where the dialplan snippets are; found from the installation when absent. */
  readonly shareDir?: string;
}

/** /usr/share/callscreen when the package installed it, else this checkout's config/ folder. */
export function snippetsDir(): string {
  if (existsSync('/usr/share/callscreen/asterisk')) return '/usr/share/callscreen';
  // daemon/ops (source) or dist/daemon/ops (compiled): config/ is at the checkout's top either way.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'config', 'asterisk'))) return join(dir, 'config');
    dir = resolve(dir, '..');
  }
  return 'config';
}

async function counts(dbPath: string): Promise<{ orgs: number; users: number; screened: number } | null> {
  if (!existsSync(dbPath)) return null;
  let db: Database | null = null;
  try {
    const opened = await Database.open(dbPath, { readOnly: true, create: false });
    db = opened;
    const one = async (sql: string): Promise<number> => (await opened.get<{ c: number }>(sql))?.c ?? 0;
    return {
      orgs: await one('SELECT count(*) AS c FROM orgs'),
      users: await one('SELECT count(*) AS c FROM users'),
      screened: await one('SELECT count(*) AS c FROM screened'),
    };
  } catch {
    return null; // the doctor's own checks say what is wrong with the database
  } finally {
    await db?.close();
  }
}

export async function nextSteps(input: NextStepsInput): Promise<string[]> {
  const { config } = input;
  const share = input.shareDir ?? snippetsDir();
  const configFile = input.configSource ?? '/etc/callscreen/callscreen.toml (or --config FILE)';
  const c = await counts(input.dbPath);
  const steps: string[] = [];
  if (c !== null && c.orgs === 0) {
    steps.push(
      'add your organisation and its numbers (DIDs): callscreen org add acme --name "Acme" --region US && callscreen org did add acme +15550100',
    );
  }
  if (c !== null && c.users === 0) {
    steps.push(
      `create the first panel user: callscreen user add admin --role admin --org ${c.orgs === 0 ? 'acme' : 'ORG'} (prints its password once); the panel is at http${config.admin.tls_cert ? 's' : ''}://${config.admin.listen}/`,
    );
  }
  const pbxLink = config.ami.enabled || config.esl_inbound.enabled || config.esl.enabled || config.sip_edge.enabled;
  if (!pbxLink) {
    steps.push(
      `give the daemon its PBX link: in ${configFile} set [ami] enabled = true, username and secret as in /etc/asterisk/manager.conf (example: ${join(share, 'asterisk', 'manager.conf')}); for FreeSWITCH, [esl] and [esl_inbound] (docs/freeswitch-and-sip-edge.md); then systemctl reload callscreen`,
    );
  }
  if (c === null || c.screened === 0) {
    steps.push(
      `hook the dialplan so calls are screened: FreePBX — copy ${join(share, 'asterisk', 'freepbx', 'extensions_custom.conf')} into /etc/asterisk/extensions_custom.conf; plain Asterisk — the AGI steps of [from-carrier], [from-agents] and the sms- contexts in ${join(share, 'asterisk', 'extensions.conf')}; FreeSWITCH — ${join(share, 'freeswitch')}/*.xml; FastAGI listens on ${config.fastagi.listen}`,
    );
  }
  return steps;
}
