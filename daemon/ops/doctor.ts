/**
 * The checks behind `callscreen doctor`: each says what it looked at, whether it is fine, and when
 * not, the command or edit that fixes it. Read-only: nothing is created, migrated or changed.
 */
import { constants, existsSync, statSync } from 'node:fs';
import { access, statfs } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Config } from '../config/schema.js';
import { listenAddress } from '../net/listen.js';
import { Database } from '../store/database.js';
import { SCHEMA_VERSION, schemaVersion } from '../store/migrations.js';
import { postgresChecks } from './doctor-postgres.js';
import { lockPathFor, readOwner, realLockSystem } from './daemon-lock.js';
import { READINESS_FIXES, readinessFix } from './readiness.js';
import type { Readiness } from './readiness-check.js';
import { MIN_FREE_BYTES } from './store-health.js';

export interface DoctorCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to do when not ok. */
  readonly fix?: string;
}

export interface DoctorInput {
  /** null when the config could not be loaded (then only that failure is reported). */
  readonly config: Config | null;
  readonly configSource: string | null;
  readonly configError?: string;
  /** Overrides config.store.path (the CLI's --db). */
  readonly dbPath?: string;
  /** How long AMI and the port probes may take each (ms, default 3000). */
  readonly timeoutMs?: number;
}

export async function runDoctor(input: DoctorInput): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  if (!input.config) {
    checks.push({
      name: 'config',
      ok: false,
      detail: input.configError ?? 'cannot be loaded',
      fix: 'correct the key or line named above, then run callscreen doctor again',
    });
    return checks;
  }
  const config = input.config;
  checks.push({
    name: 'config',
    ok: true,
    detail: input.configSource ? `${input.configSource} is valid` : 'no file: embedded defaults',
  });
  if (input.configSource) checks.push(configPermissions(input.configSource));
  const dbPath = input.dbPath ?? config.store.path;
  checks.push(...(await databaseChecks(dbPath)));
  const timeoutMs = input.timeoutMs ?? 3000;
  const listeners: Array<[string, boolean, string]> = [
    ['fastagi.listen', config.fastagi.enabled, config.fastagi.listen],
    ['admin.listen', config.admin.enabled, config.admin.listen],
    ['esl.listen', config.esl.enabled, config.esl.listen],
  ];
  const daemonPid = config.admin.enabled ? await runningDaemonPid(config.admin.listen, timeoutMs) : null;
  checks.push(...(await storageChecks(dbPath)));
  checks.push(lockCheck(dbPath));
  for (const [key, enabled, addr] of listeners) if (enabled) checks.push(await portCheck(key, addr, daemonPid));
  if (daemonPid !== null) checks.push(...(await daemonReadiness(config.admin.listen, dbPath, timeoutMs)));
  if (config.ami.enabled) checks.push(...(await amiChecks(config, timeoutMs)));
  checks.push(...(await postgresChecks(config, dbPath, timeoutMs)));
  return checks;
}

function configPermissions(path: string): DoctorCheck {
  const mode = statSync(path).mode & 0o777;
  const octal = mode.toString(8).padStart(4, '0');
  if (mode & 0o007) {
    return {
      name: 'config permissions',
      ok: false,
      detail: `${path} is mode ${octal}, readable by every user (it holds the AMI secret)`,
      fix: `chmod 0640 ${path} && chown root:callscreen ${path}`,
    };
  }
  return { name: 'config permissions', ok: true, detail: `${path} mode ${octal}` };
}

async function databaseChecks(path: string): Promise<DoctorCheck[]> {
  if (!existsSync(path)) {
    return [
      {
        name: 'database',
        ok: false,
        detail: `${path} does not exist`,
        fix: 'start the daemon once (systemctl start callscreen) or set store.path to the database file',
      },
    ];
  }
  const out: DoctorCheck[] = [];
  const mode = statSync(path).mode & 0o777;
  const octal = mode.toString(8).padStart(4, '0');
  out.push(
    mode & 0o007
      ? {
          name: 'database permissions',
          ok: false,
          detail: `${path} is mode ${octal}, open to every user`,
          fix: `chmod 0640 ${path}`,
        }
      : { name: 'database permissions', ok: true, detail: `${path} mode ${octal}` },
  );
  let db: Database | null = null;
  try {
    db = await Database.open(path, { readOnly: true, create: false });
    const rows = await db.all<{ quick_check: string }>('PRAGMA quick_check');
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    out.push(
      problems.length === 0
        ? { name: 'database integrity', ok: true, detail: 'PRAGMA quick_check: ok' }
        : {
            name: 'database integrity',
            ok: false,
            detail: `PRAGMA quick_check: ${problems.slice(0, 3).join('; ')}`,
            fix: `restore the latest backup: callscreen restore FILE (backups sit next to ${path})`,
          },
    );
    const v = await schemaVersion(db);
    if (v === SCHEMA_VERSION) out.push({ name: 'schema version', ok: true, detail: `${v} (current)` });
    else if (v < SCHEMA_VERSION)
      out.push({
        name: 'schema version',
        ok: true,
        detail: `${v}; migrated to ${SCHEMA_VERSION} at the next daemon start (a backup is taken first)`,
      });
    else
      out.push({
        name: 'schema version',
        ok: false,
        detail: `${v} is newer than this program's ${SCHEMA_VERSION}`,
        fix: 'upgrade callscreen (scripts/install.sh from the newer release)',
      });
  } catch (err) {
    out.push({
      name: 'database integrity',
      ok: false,
      detail: err instanceof Error ? err.message : String(err),
      fix: `check that ${path} is a callscreen database and readable by this user`,
    });
  } finally {
    await db?.close();
  }
  return out;
}

/** Room on the database's disk and write access to it (a read-only mount, a chown gone wrong). */
async function storageChecks(path: string): Promise<DoctorCheck[]> {
  const dir = dirname(path);
  const out: DoctorCheck[] = [];
  try {
    const s = await statfs(dir);
    const free = s.bavail * s.bsize;
    out.push(
      free < MIN_FREE_BYTES
        ? {
            name: 'disk space',
            ok: false,
            detail: `${free} bytes free in ${dir} (the daemon needs ${MIN_FREE_BYTES})`,
            fix: READINESS_FIXES['disk-full'].replace('DIR', dir),
          }
        : { name: 'disk space', ok: true, detail: `${Math.floor(free / (1024 * 1024))} MiB free in ${dir}` },
    );
  } catch (err) {
    out.push({
      name: 'disk space',
      ok: false,
      detail: `${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      fix: `create ${dir} or set store.path`,
    });
    return out;
  }
  if (existsSync(path)) {
    try {
      await access(path, constants.R_OK | constants.W_OK);
      await access(dir, constants.W_OK);
      out.push({ name: 'database writable', ok: true, detail: `${path} and ${dir} writable by this user` });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      out.push(
        code === 'EROFS'
          ? {
              name: 'database writable',
              ok: false,
              detail: `${path} is on a read-only file system`,
              fix: READINESS_FIXES['read-only'],
            }
          : {
              name: 'database writable',
              ok: false,
              detail: `${path} or ${dir}: ${code ?? String(err)} for this user (run doctor as the service user: sudo -u callscreen callscreen doctor)`,
              fix: fill(READINESS_FIXES.unreadable, path),
            },
      );
    }
  }
  return out;
}

/** Who holds the one-daemon-per-database lock (daemon-lock.ts); a stale one is fine (taken over at start). */
function lockCheck(path: string): DoctorCheck {
  const lock = lockPathFor(path);
  if (!existsSync(lock)) return { name: 'daemon lock', ok: true, detail: `${lock}: no daemon holds ${path}` };
  const owner = readOwner(lock);
  if (owner === null)
    return {
      name: 'daemon lock',
      ok: true,
      detail: `${lock} is unreadable: treated as stale and replaced at the next start`,
    };
  const alive = owner.host !== realLockSystem.host || realLockSystem.alive(owner.pid);
  return alive
    ? {
        name: 'daemon lock',
        ok: true,
        detail: `held by the daemon pid ${owner.pid} on ${owner.host} since ${owner.since}`,
      }
    : { name: 'daemon lock', ok: true, detail: `stale (pid ${owner.pid} is gone): taken over at the next start` };
}

/** The running daemon's /readyz: each failing check with what to do about it. */
async function daemonReadiness(adminListen: string, dbPath: string, timeoutMs: number): Promise<DoctorCheck[]> {
  const { host, port } = listenAddress(adminListen);
  let r: Readiness;
  try {
    const res = await fetch(`http://${host}:${port}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    r = (await res.json()) as Readiness;
  } catch (err) {
    return [
      {
        name: 'daemon readiness',
        ok: false,
        detail: `GET /readyz: ${err instanceof Error ? err.message : String(err)}`,
        fix: 'see the log: journalctl -u callscreen -e',
      },
    ];
  }
  const failing = r.checks.filter((c) => !c.ok);
  if (failing.length === 0)
    return [{ name: 'daemon readiness', ok: true, detail: `ready (${r.checks.map((c) => c.name).join(', ')})` }];
  return failing.map((c) => ({
    name: `daemon readiness: ${c.name}`,
    ok: false,
    detail: `${c.reason ?? 'failing'}: ${c.detail}`,
    fix: fill(readinessFix(c.reason ?? '') ?? 'see the log: journalctl -u callscreen -e', dbPath),
  }));
}

/** The fix texts say FILE and DIR; doctor knows which. */
function fill(text: string, dbPath: string): string {
  return text.replace(/\bFILE\b/g, dbPath).replace(/\bDIR\b/g, dirname(dbPath));
}

/** The pid our daemon reports on /healthz at the admin address, or null when nothing answers. */
async function runningDaemonPid(adminListen: string, timeoutMs: number): Promise<number | null> {
  const { host, port } = listenAddress(adminListen);
  try {
    const res = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { status?: string; pid?: number };
    return body.status === 'ok' && typeof body.pid === 'number' ? body.pid : null;
  } catch {
    return null;
  }
}

async function portCheck(key: string, addr: string, daemonPid: number | null): Promise<DoctorCheck> {
  const { host, port } = listenAddress(addr);
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(null)));
  });
  if (err === null) return { name: `port ${key}`, ok: true, detail: `${addr} is free (daemon not running)` };
  if (err.code === 'EADDRINUSE' && daemonPid !== null)
    return {
      name: `port ${key}`,
      ok: true,
      detail: `${addr} in use by the running callscreen daemon (pid ${daemonPid})`,
    };
  if (err.code === 'EADDRINUSE')
    return {
      name: `port ${key}`,
      ok: false,
      detail: `${addr} is taken by another program`,
      fix: `find it with: ss -ltnp 'sport = :${port}'; stop it or change ${key}`,
    };
  if (err.code === 'EACCES')
    return {
      name: `port ${key}`,
      ok: false,
      detail: `${addr}: permission denied`,
      fix: `use a port above 1023 in ${key}`,
    };
  return {
    name: `port ${key}`,
    ok: false,
    detail: `${addr}: ${err.code ?? err.message}`,
    fix: `check the address in ${key} (an address of this host, usually 127.0.0.1)`,
  };
}

/**
 * Logs in to AMI with the configured account, asks `dialplan show` and looks for the FastAGI hook.
 * A one-shot raw exchange, not the daemon's AmiClient: doctor wants every `Output:` line of the
 * command and no reconnects.
 */
async function amiChecks(config: Config, timeoutMs: number): Promise<DoctorCheck[]> {
  const { host, port, username, secret } = config.ami;
  const where = `${host}:${port}`;
  let text: string;
  try {
    text = await amiConversation(
      host,
      port,
      [
        `Action: Login\r\nActionID: doctor-login\r\nUsername: ${username}\r\nSecret: ${secret}\r\nEvents: off\r\n\r\n`,
        'Action: Command\r\nActionID: doctor-dialplan\r\nCommand: dialplan show\r\n\r\n',
        'Action: Logoff\r\nActionID: doctor-logoff\r\n\r\n',
      ],
      timeoutMs,
    );
  } catch (err) {
    return [
      {
        name: 'AMI login',
        ok: false,
        detail: `${where}: ${err instanceof Error ? err.message : String(err)}`,
        fix: 'is Asterisk running and [ami] host/port right? (asterisk -rx "manager show settings")',
      },
    ];
  }
  const block = (id: string): string => text.split('\r\n\r\n').find((b) => b.includes(`ActionID: ${id}`)) ?? '';
  const login = block('doctor-login');
  const loginOk = /Response: Success/.test(login);
  if (!loginOk) {
    return [
      {
        name: 'AMI login',
        ok: false,
        detail: `${where} refused user "${username}": ${/Message: (.*)/.exec(login)?.[1]?.trim() ?? 'no success response'}`,
        fix: `check ami.username / ami.secret against [${username}] in /etc/asterisk/manager.conf, then: asterisk -rx "manager reload"`,
      },
    ];
  }
  const out: DoctorCheck[] = [{ name: 'AMI login', ok: true, detail: `logged in to ${where} as ${username}` }];
  const hook = /agi:\/\/[^\s,)]*\/call-inbound/;
  if (/Permission denied/i.test(text) && !/agi:\/\//.test(text)) {
    out.push({
      name: 'dialplan hook',
      ok: false,
      detail: 'the AMI user may not run "dialplan show"',
      fix: `add "command" to read= and write= for [${username}] in manager.conf`,
    });
  } else if (hook.test(text)) {
    out.push({ name: 'dialplan hook', ok: true, detail: 'AGI(agi://…/call-inbound) is in the dialplan' });
  } else {
    out.push({
      name: 'dialplan hook',
      ok: false,
      detail: 'no AGI(agi://…/call-inbound) in the dialplan: calls are not screened',
      fix: `in the inbound context: same => n,Set(CALLSCREEN_ID=id2:…) and same => n,AGI(agi://${config.fastagi.listen}/call-inbound,\${CALLSCREEN_ID}) then asterisk -rx "dialplan reload" (the lines are in docs/asterisk-contract.md)`,
    });
  }
  return out;
}

/** Sends the actions after the banner and returns everything read until the peer closes or goes quiet. */
function amiConversation(host: string, port: number, actions: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let buf = '';
    let sent = false;
    const timer = setTimeout(() => {
      sock.destroy();
      if (!sent) reject(new Error(`no AMI banner within ${timeoutMs} ms`));
      else resolve(buf);
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      if (!sent && buf.includes('\r\n')) {
        if (!/Asterisk Call Manager/i.test(buf)) {
          clearTimeout(timer);
          sock.destroy();
          reject(new Error('not an AMI port (no "Asterisk Call Manager" banner)'));
          return;
        }
        sent = true;
        sock.write(actions.join(''));
      }
      if (/ActionID: doctor-logoff/.test(buf) || /Response: Goodbye/.test(buf)) sock.end();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(e.code ?? e.message));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (sent) resolve(buf);
    });
    sock.connect(port, host);
  });
}
