/**
 * Listening on a configured `host:port`: the one parser of listen addresses (the config rules refuse
 * what it refuses, the listeners split what it accepts) and the one listen with a deep accept queue.
 */
import { isIP, type AddressInfo, type Server } from 'node:net';
import { CallscreenError } from '../core/errors.js';

/**
 * Accept-queue length for the PBX listeners (connections). Node's default (511) is below what a
 * burst of calls opens at once: the kernel dropped the SYNs beyond it and Asterisk/FreeSWITCH
 * retried 1 s, then 3 s later, past the screening deadline. The kernel caps it at
 * net.core.somaxconn (4096 on current kernels).
 */
export const LISTEN_BACKLOG = 4096;

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * `host:port` with host an IPv4 address or a host name, and port 0–65535 (0: any free port, which
 * tests use). IPv6 literals are refused: nothing that reads these addresses (the listeners, doctor,
 * the package's maintainer scripts) takes `[::1]:port` apart. Returns the reason when it is not an address the daemon can use.
 */
export function parseListenAddress(value: string): ListenAddress | string {
  if (value.includes('[') || (value.match(/:/g) ?? []).length > 1)
    return `"${value}": IPv6 listen addresses are not supported; use an IPv4 address or a host name`;
  const m = /^([^:]*):(\d+)$/.exec(value);
  const [, host, digits] = m ?? [];
  if (host === undefined || digits === undefined) return `"${value}" is not host:port (e.g. 127.0.0.1:4573)`;
  const port = Number(digits);
  if (digits.length > 5 || port > 65535) return `port ${digits} is out of range (0-65535)`;
  if (host === '') return 'the host is empty (127.0.0.1: this host only; 0.0.0.0: every interface)';
  if (/^[0-9.]+$/.test(host)) {
    if (isIP(host) !== 4) return `"${host}" is not an IPv4 address`;
    return { host, port };
  }
  // A host name: RFC 1123 labels (letters, digits, hyphens; no leading or trailing hyphen).
  const label = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  if (host.length > 253 || !host.split('.').every((l) => label.test(l)))
    return `"${host}" is not a host name or IPv4 address`;
  return { host, port };
}

/** A listen address the config rules already accepted; throws CS_ERR_CONFIG_INVALID naming it otherwise. */
export function listenAddress(value: string): ListenAddress {
  const parsed = parseListenAddress(value);
  if (typeof parsed === 'string')
    throw new CallscreenError('CS_ERR_CONFIG_INVALID', `listen address ${parsed}`, { value });
  return parsed;
}

/**
 * Listens on `address` with `backlog` (default LISTEN_BACKLOG) and resolves with what was bound (port
 * 0 picks a free one); rejects with the socket error (EADDRINUSE, EACCES, EADDRNOTAVAIL), which the
 * daemon's start turns into CS_ERR_LISTEN_FAILED naming the config key (ops/start-failure.ts).
 */
export function listenOn(server: Server, address: ListenAddress, backlog = LISTEN_BACKLOG): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address.host, port: address.port, backlog }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
