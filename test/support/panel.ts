/**
 * A daemon with the admin server on an ephemeral loopback port, a temp database, a manual clock, a
 * fake message deliverer (there is no PBX link here: it records what a release would deliver), and
 * a small org/user/blocklist fixture shared by the API and browser tests.
 */
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { AdminServer, type AdminServerOptions } from '../../daemon/admin/admin-server.js';
import { ManualClock } from './manual-clock.js';
import { CallscreenError } from '../../daemon/core/errors.js';
import { Daemon } from '../../daemon/main.js';
import type { DaemonContext } from '../../daemon/daemon-context.js';
import type { HeldMessage, MessageDeliverer } from '../../daemon/services/message-deliverer.js';
import { cliActor, silentLogger, tempDir, testConfig, type TapLike } from './harness.js';

export const PASSWORD = 'correct-horse-battery';

export class FakeDeliverer implements MessageDeliverer {
  readonly delivered: HeldMessage[] = [];
  /** Set to make the next deliveries fail as an unreachable PBX would. */
  down = false;
  deliver(message: HeldMessage): Promise<void> {
    if (this.down) return Promise.reject(new CallscreenError('CS_ERR_UNAVAILABLE', 'PBX link is down'));
    this.delivered.push(message);
    return Promise.resolve();
  }
}

export interface Panel {
  readonly daemon: Daemon;
  readonly ctx: DaemonContext;
  readonly server: AdminServer;
  readonly app: FastifyInstance;
  readonly clock: ManualClock;
  readonly deliverer: FakeDeliverer | null;
  readonly baseUrl: string;
  /** Ids from the fixture. */
  readonly ids: { spam: number; contact: number; contactEntry: number; messages: number[] };
}

export interface PanelOptions {
  /** false: no PBX link at all, so a release must fail with 503. */
  readonly deliverer?: boolean;
  /** Extra TOML for the daemon's config (e.g. [admin] tls_cert/tls_key). */
  readonly toml?: string;
  /** Admin server options over the test defaults (throttle, hashing gate, idle limit, scrypt). */
  readonly admin?: AdminServerOptions;
}

/**
 * Orgs: acme (region US), globex (US). Users (password PASSWORD): alice admin of acme and globex;
 * sam supervisor of acme; andy agent of acme; bob admin of globex only.
 * acme blocks +1 555 123 4567 (“Spam Co”), +1 555 987 6543 and contact “Pushy Vendor”
 * (+1 555 000 1111, +1 555 000 2222), who has two held messages.
 */
export async function startPanel(t: TapLike, options: PanelOptions = {}): Promise<Panel> {
  const dbPath = join(tempDir(t), 'callscreen.db');
  const clock = new ManualClock(Date.UTC(2026, 10, 1, 9, 0));
  const deliverer = options.deliverer === false ? null : new FakeDeliverer();
  let server: AdminServer | null = null;
  const daemon = new Daemon(testConfig(dbPath, options.toml), silentLogger(), {
    clock,
    timers: new ManualClock(),
    pbxLinks: () => ({ deliverer, notifier: null, components: [] }),
    components: (ctx) => {
      // scrypt cost lowered for speed; the format and code path are the production ones.
      server = new AdminServer(ctx, { listen: '127.0.0.1:0', scrypt: { N: 1024, r: 8, p: 1 }, ...options.admin });
      return [server];
    },
  });
  const ctx = await daemon.start();
  t.teardown(() => daemon.stop());
  const s = server as unknown as AdminServer;

  await ctx.orgs.add('acme', 'Acme Dental', 'US', cliActor);
  await ctx.orgs.add('globex', 'Globex Clinic', 'US', cliActor);
  await ctx.orgs.addDids('acme', ['+1 212 555 0100'], cliActor);
  await s.users.add('alice', 'admin', ['acme', 'globex'], PASSWORD, cliActor);
  await s.users.add('sam', 'supervisor', ['acme'], PASSWORD, cliActor);
  await s.users.add('andy', 'agent', ['acme'], PASSWORD, cliActor);
  await s.users.add('bob', 'admin', ['globex'], PASSWORD, cliActor);
  const spam = await ctx.blocklist.block(
    'acme',
    { kind: 'exact', number: '(555) 123-4567' },
    { name: 'Spam Co', reason: 'robocalls', mode: 'reject' },
    cliActor,
  );
  clock.advance(60_000);
  await ctx.blocklist.block(
    'acme',
    { kind: 'exact', number: '555-987-6543' },
    { name: 'Car warranty', mode: 'voicemail' },
    cliActor,
  );
  const contact = await ctx.contacts.add('acme', 'Pushy Vendor', ['+15550001111', '+15550002222'], cliActor);
  const contactEntry = await ctx.blocklist.block(
    'acme',
    { kind: 'contact', contactId: contact.id },
    { name: 'Pushy Vendor', reason: 'spam texts' },
    cliActor,
  );
  const acme = await ctx.orgs.require('acme');
  const messages: number[] = [];
  for (const body of ['Buy now!!!', 'Last chance <b>50% off</b>']) {
    clock.advance(1000);
    messages.push(
      await ctx.quarantine.hold({
        orgId: acme.id,
        fromRaw: '+15550001111',
        to: '+12125550100',
        body,
        deliverTo: 'pjsip:agent101',
        adapter: 'test',
        verdict: {
          action: 'quarantine',
          normalized: '+15550001111',
          reason: 'contact blocked',
          rule: { id: contactEntry.id, kind: 'contact', value: String(contact.id) },
        },
      }),
    );
  }
  await ctx.feed.poll();
  const app = await s.build();
  const { port } = s.address();
  return {
    daemon,
    ctx,
    server: s,
    app,
    clock,
    deliverer,
    baseUrl: `http://127.0.0.1:${port}`,
    ids: { spam: spam.id, contact: contact.id, contactEntry: contactEntry.id, messages },
  };
}

/** A signed-in user: the cookie header and the CSRF token their requests carry. */
export interface Session {
  readonly cookie: string;
  readonly csrf: string;
}

/** Signs in through the JSON API; returns the cookie header and CSRF token for later requests. */
export async function signIn(app: FastifyInstance, name: string, password = PASSWORD): Promise<Session> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { name, password } });
  if (res.statusCode !== 200) throw new Error(`sign-in of ${name} failed: ${res.statusCode} ${res.body}`);
  const c = res.cookies.find((x) => x.name === 'cs_session');
  if (!c) throw new Error('no session cookie');
  return { cookie: `cs_session=${c.value}`, csrf: res.json<{ csrf: string }>().csrf };
}

/** A JSON API request as `who` (their cookie and the x-csrf-token header), with a body if one is given. */
export function apiCall(
  app: FastifyInstance,
  who: Session,
  method: InjectOptions['method'],
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: { cookie: who.cookie, 'x-csrf-token': who.csrf },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
}

type FormFields = Readonly<Record<string, string | readonly string[]>>;
type FieldPairs = ReadonlyArray<readonly [string, string]>;
const isPairs = (form: FormFields | FieldPairs): form is FieldPairs => Array.isArray(form);

/**
 * A panel form posted by `who` as a browser sends it: urlencoded, org acme and the CSRF field first,
 * then the fields in order. A field given several values (an array, or a repeated pair) is sent once
 * a value, as ticked checkboxes are.
 */
export function postForm(
  app: FastifyInstance,
  who: Session,
  url: string,
  form: FormFields | FieldPairs = {},
): Promise<LightMyRequestResponse> {
  const body = new URLSearchParams({ org: 'acme', _csrf: who.csrf });
  const pairs = isPairs(form) ? form : Object.entries(form).flatMap(([k, v]) => [v].flat().map((x) => [k, x] as const));
  for (const [k, v] of pairs) body.append(k, v);
  return app.inject({
    method: 'POST',
    url,
    headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: body.toString(),
  });
}
