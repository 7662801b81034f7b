/**
 * A sandbox agent's softphone: SIP.js over WebSocket (Node: `ws`, since SIP.js expects a browser
 * WebSocket), registered with the real Asterisk; every MESSAGE it gets is accepted and handed to
 * `onMessage`. Unregistered and stopped by tap's teardown.
 */
import WebSocket from 'ws';
import { Registerer, RegistererState, UserAgent } from 'sip.js';
import type { TapLike } from './harness.js';
import { SANDBOX } from './pbx-sandbox.js';

export interface SoftphoneMessage {
  readonly from: string;
  readonly body: string;
}

export async function registerSoftphone(
  t: TapLike,
  agent: { readonly user: string; readonly password: string },
  onMessage: (m: SoftphoneMessage) => void,
): Promise<void> {
  const g = globalThis as { WebSocket?: unknown };
  g.WebSocket ??= WebSocket;
  const ua = new UserAgent({
    uri: UserAgent.makeURI(`sip:${agent.user}@127.0.0.1`),
    transportOptions: { server: SANDBOX.websocket },
    authorizationUsername: agent.user,
    authorizationPassword: agent.password,
    logLevel: 'error',
    delegate: {
      onMessage: (m) => {
        onMessage({ from: m.request.from.uri.toString(), body: m.request.body });
        void m.accept();
      },
    },
  });
  await ua.start();
  const registerer = new Registerer(ua);
  t.teardown(async () => {
    await registerer.unregister().catch(() => undefined);
    await ua.stop();
  });
  const registered = new Promise<void>((resolve) =>
    registerer.stateChange.addListener((s) => {
      if (s === RegistererState.Registered) resolve();
    }),
  );
  await registerer.register();
  await registered;
}
