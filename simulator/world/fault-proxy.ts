// A TCP proxy between the simulated devices and the broker, where the network faults happen.
// Each connection is tied to its device by the client id in its CONNECT packet, so
// `drop(device)` can cut exactly that device's connection (both sides, like a link failure).
// When the broker dies, the proxy's upstream sockets die and the devices see their
// connections close, as they would on a real network.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { sniffClientId } from './connect-packet.js';

interface Pair {
  readonly device: Socket;
  readonly upstream: Socket;
}

export class FaultProxy {
  private readonly server: Server;
  private readonly byDevice = new Map<string, Set<Pair>>();
  private readonly pairs = new Set<Pair>();
  drops = 0;

  constructor(private readonly upstreamPort: number, private readonly host = '127.0.0.1') {
    this.server = createServer((socket) => this.accept(socket));
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.host, () => {
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  }

  private accept(device: Socket): void {
    device.setNoDelay(true);
    const upstream = createConnection({ host: this.host, port: this.upstreamPort });
    upstream.setNoDelay(true);
    const pair: Pair = { device, upstream };
    this.pairs.add(pair);
    const close = () => this.forget(pair);
    device.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    device.pipe(upstream);
    upstream.pipe(device);
    let seen = Buffer.alloc(0);
    const sniff = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const result = sniffClientId(seen);
      if (result.kind === 'more') return;
      device.off('data', sniff);
      if (result.kind === 'found') this.attach(result.clientId, pair);
    };
    device.on('data', sniff);
  }

  private attach(clientId: string, pair: Pair): void {
    if (!this.pairs.has(pair)) return;
    const set = this.byDevice.get(clientId) ?? new Set<Pair>();
    set.add(pair);
    this.byDevice.set(clientId, set);
    pair.device.once('close', () => {
      set.delete(pair);
      if (set.size === 0 && this.byDevice.get(clientId) === set) this.byDevice.delete(clientId);
    });
  }

  private forget(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.device.destroy();
    pair.upstream.destroy();
  }

  /** Cuts the device's connection(s); false when it had none. */
  drop(device: string): boolean {
    const set = this.byDevice.get(device);
    if (set === undefined || set.size === 0) return false;
    for (const pair of [...set]) this.forget(pair);
    this.drops += 1;
    return true;
  }

  get connections(): number {
    return this.pairs.size;
  }

  close(): Promise<void> {
    for (const pair of [...this.pairs]) this.forget(pair);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
