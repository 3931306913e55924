// The packet-size guard coalesces a connection's writes into one socket write per event-loop
// turn, in order, and still drops a client that stops reading once more than the outbound bound
// waits unsent [docs/DESIGN.md rule 15]. Real loopback sockets; the server side's syscall-level
// writes (`_write`/`_writev` of the net.Socket) are counted.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { generate, parser as mqttParser, type IPublishPacket, type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { COALESCED_BYTES_MAX } from '../broker/limits.js';
import { PacketSizeGuard } from '../broker/mqtt/packet-size-guard.js';

const OUTBOUND_BYTES_MAX = 65_536;
const PACKETS = 300;

let server: Server | null = null;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await new Promise<void>((resolve) => (server === null ? resolve() : server.close(() => resolve())));
  server = null;
});

/** A connected pair: the server side (to wrap) and the client side (to read or freeze). */
async function socketPair(): Promise<{ serverSide: Socket; clientSide: Socket }> {
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const port = (server?.address() as { port: number }).port;
  const clientSide = createConnection(port, '127.0.0.1');
  const serverSide = await accepted;
  sockets.push(serverSide, clientSide);
  return { serverSide, clientSide };
}

/** Counts the socket-level writes (each is one `write`/`writev` system call, or a queued one). */
function countWrites(socket: Socket): { count: number } {
  const counter = { count: 0 };
  const target = socket as unknown as { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
  const write = target._write.bind(socket);
  const writev = target._writev.bind(socket);
  target._write = (...args) => { counter.count += 1; write(...args); };
  target._writev = (...args) => { counter.count += 1; writev(...args); };
  return counter;
}

function publish(index: number, payloadBytes = 40): Buffer {
  const payload = Buffer.alloc(payloadBytes, 0x61);
  payload.writeUInt32BE(index, 0);
  return generate({ cmd: 'publish', topic: 'mqpay/v1/in/meter-1/voucher', payload, qos: 0, dup: false, retain: false });
}

function guardOf(serverSide: Socket, onSlowReader: (buffered: number) => void): PacketSizeGuard {
  const traffic = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
  return new PacketSizeGuard(serverSide, 1_048_576, () => undefined, OUTBOUND_BYTES_MAX, onSlowReader, traffic);
}

describe('coalesced writes', () => {
  it('sends many packets written in one turn as few socket writes, in order', async () => {
    const { serverSide, clientSide } = await socketPair();
    const writes = countWrites(serverSide);
    const guard = guardOf(serverSide, () => expect.fail('a reading client must not be dropped'));
    const received: number[] = [];
    const parser = mqttParser();
    const all = new Promise<void>((resolve) => {
      parser.on('packet', (packet: Packet) => {
        received.push(((packet as IPublishPacket).payload as Buffer).readUInt32BE(0));
        if (received.length === PACKETS) resolve();
      });
    });
    clientSide.on('data', (chunk: Buffer) => parser.parse(chunk));
    let bytes = 0;
    for (let index = 0; index < PACKETS; index++) {
      const packet = publish(index);
      bytes += packet.length;
      guard.write(packet);
    }
    await all;
    expect(received).toEqual(Array.from({ length: PACKETS }, (_, index) => index));
    // One write per COALESCED_BYTES_MAX flushed early, plus the end-of-turn one; without
    // coalescing it would be one per packet.
    expect(bytes).toBeGreaterThan(COALESCED_BYTES_MAX);
    expect(writes.count).toBeLessThanOrEqual(Math.ceil(bytes / COALESCED_BYTES_MAX) + 1);
    expect(writes.count).toBeLessThan(PACKETS / 10);
  });

  it('delivers what was written in the turn a connection is destroyed (a reply, then a closed session)', async () => {
    const { serverSide, clientSide } = await socketPair();
    const guard = guardOf(serverSide, () => expect.fail('a reading client must not be dropped'));
    const chunks: Buffer[] = [];
    const ended = new Promise<void>((resolve) => clientSide.on('close', () => resolve()));
    clientSide.on('data', (chunk: Buffer) => chunks.push(chunk));
    const packets = [publish(1), publish(2)];
    for (const packet of packets) guard.write(packet);
    guard.destroy();
    await ended;
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat(packets));
  });

  it('drops a client that stopped reading once the unsent bytes pass the bound, not before', async () => {
    const { serverSide, clientSide } = await socketPair();
    clientSide.pause();
    let dropped: number | null = null;
    const guard = guardOf(serverSide, (buffered) => (dropped = buffered));
    const closed = new Promise<void>((resolve) => guard.on('close', () => resolve()));
    guard.on('error', () => undefined);
    const packetBytes = publish(0, 1_000).length;
    // A turn's worth of packets at a time, as aedes would write a burst of forwards.
    let written = 0;
    while (dropped === null) {
      for (let index = 0; index < 50 && dropped === null; index++) {
        guard.write(publish(written, 1_000));
        written += 1;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await closed;
    expect(serverSide.destroyed).toBe(true);
    expect(dropped).toBeGreaterThan(OUTBOUND_BYTES_MAX);
    // Dropped at the bound: no more than one packet beyond it held in user space.
    expect(dropped).toBeLessThanOrEqual(OUTBOUND_BYTES_MAX + packetBytes);
  });
});
