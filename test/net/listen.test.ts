// The one listen helper: addresses the config rules accept are the ones the listeners bind; a bound
// port is reported back; a taken one rejects with the socket error the daemon's start maps.
import net from 'node:net';
import t from 'tap';
import { LISTEN_BACKLOG, listenAddress, listenOn, parseListenAddress } from '../../daemon/net/listen.js';

t.test('listenAddress: host and port of what the rules accept; a clear error naming the value otherwise', async (t) => {
  t.same(listenAddress('127.0.0.1:4573'), { host: '127.0.0.1', port: 4573 });
  t.same(listenAddress('pbx-1.example:0'), { host: 'pbx-1.example', port: 0 });
  t.throws(() => listenAddress('[::1]:4573'), {
    code: 'CS_ERR_CONFIG_INVALID',
    message: /IPv6 listen addresses are not supported/,
  });
  t.throws(() => listenAddress('127.0.0.1'), {
    code: 'CS_ERR_CONFIG_INVALID',
    message: /"127.0.0.1" is not host:port/,
  });
  t.equal(parseListenAddress('127.0.0.1:70000'), 'port 70000 is out of range (0-65535)');
  t.equal(LISTEN_BACKLOG, 4096);
});

t.test(
  'listenOn: resolves with the bound address; a taken port rejects with EADDRINUSE and leaves no listener',
  async (t) => {
    const a = net.createServer();
    const bound = await listenOn(a, listenAddress('127.0.0.1:0'));
    t.teardown(() => new Promise<void>((resolve) => a.close(() => resolve())));
    t.equal(bound.address, '127.0.0.1');
    t.ok(bound.port > 0, 'port 0 picked a free port');
    const b = net.createServer();
    await t.rejects(listenOn(b, { host: '127.0.0.1', port: bound.port }), { code: 'EADDRINUSE' });
    t.equal(b.listening, false);
    t.equal(b.listenerCount('error'), 0, 'the one-shot error listener is gone');
  },
);
