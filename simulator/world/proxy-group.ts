// One fault proxy per cluster node: a device's connection is cut on whichever node carries it.
import { FaultProxy } from './fault-proxy.js';
import type { DropPoint } from './sim-world.js';

export class ProxyGroup implements DropPoint {
  private constructor(private readonly proxies: readonly FaultProxy[], readonly urls: readonly string[]) {}

  /** A proxy in front of each of these loopback ports, in order. */
  static async open(upstreamPorts: readonly number[]): Promise<ProxyGroup> {
    const proxies = upstreamPorts.map((port) => new FaultProxy(port));
    const ports = await Promise.all(proxies.map((proxy) => proxy.listen()));
    return new ProxyGroup(proxies, ports.map((port) => `mqtt://127.0.0.1:${port}`));
  }

  drop(device: string): boolean {
    // Every proxy is asked: a device may hold connections on two nodes for a moment.
    return this.proxies.map((proxy) => proxy.drop(device)).some(Boolean);
  }

  async close(): Promise<void> {
    await Promise.all(this.proxies.map((proxy) => proxy.close()));
  }
}
