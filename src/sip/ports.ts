// Which local ports are taken, read from /proc/net so a check never takes the port itself (a
// bind probe could steal it from a process that is starting up). The local engine checks its
// SIP and control ports with it before starting drachtio-server; the tests use it too.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** `/proc/net/{udp,tcp}` form of an IPv4 address: the 32-bit value in host (little-endian) order. */
function procHex(address: string): string {
  return address
    .split('.')
    .reverse()
    .map((b) => Number(b).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}

/** Resolves true when a UDP socket can bind address:port right now. */
export function udpFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ address, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** Resolves true when a TCP server can listen on address:port right now. */
export function tcpFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: address, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Whether a socket is bound (UDP) or listening (TCP) on address:port. A socket on 0.0.0.0
 * counts for every address; the address `*` (drachtio's "all addresses") matches any socket on
 * that port. Falls back to a bind probe where /proc is missing.
 */
export async function portInUse(proto: 'udp' | 'tcp', address: string, port: number): Promise<boolean> {
  let table: string;
  try {
    table = readFileSync(`/proc/net/${proto}`, 'utf8');
  } catch {
    const probeAddress = address === '*' ? '0.0.0.0' : address;
    return !(await (proto === 'udp' ? udpFree(probeAddress, port) : tcpFree(probeAddress, port)));
  }
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const wanted = new Set([`${procHex(address === '*' ? '0.0.0.0' : address)}:${portHex}`, `00000000:${portHex}`]);
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    const state = cols[3];
    if (!local) continue;
    if (!(wanted.has(local) || (address === '*' && local.endsWith(`:${portHex}`)))) continue;
    if (proto === 'udp' || state === '0A') return true; // 0A = LISTEN
  }
  return false;
}

/** A TCP port nobody listens on right now on `host`, picked by the kernel. */
export function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
