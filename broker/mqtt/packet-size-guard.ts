// aedes has no maximum packet size and no bound on what it queues for a slow reader, so each
// connection is wrapped in both directions:
// - in: this stream reads each MQTT fixed header [MQTT-2.2.3] and destroys the connection as soon
//   as a packet announces a remaining length above the limit, before the parser buffers it;
// - out: writes are coalesced into one socket write per event-loop turn; a write is taken at once (aedes never waits for the socket to drain, which would hold
//   one of its delivery slots and, with enough of them, every other client's messages), and the
//   connection is dropped once more than `outboundBytesMax` wait unsent: a client that stops
//   reading costs only itself [docs/DESIGN.md rule 15].
import { Duplex } from 'node:stream';
import { COALESCED_BYTES_MAX } from '../limits.js';

type Phase = 'type' | 'length' | 'body';

/** What crossed one connection, for the broker's traffic metrics (shared by every connection). */
export interface TrafficCounts {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

/**
 * Walks a byte stream through MQTT's fixed headers [MQTT-2.2.3] without buffering it: counts the
 * packets that start, and reports the first remaining length above `packetBytesMax`.
 */
class FrameScanner {
  private phase: Phase = 'type';
  private remaining = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  /** The announced remaining length that broke the limit, once it has been broken. */
  oversize: number | null = null;

  constructor(private readonly packetBytesMax: number) {}

  /** Returns how many packets began in `chunk`; stops (and sets `oversize`) at a broken limit. */
  scan(chunk: Buffer): number {
    let started = 0;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.phase === 'type') {
        offset += 1;
        started += 1;
        this.phase = 'length';
        this.remaining = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else if (this.phase === 'length') {
        const byte = chunk[offset] as number;
        offset += 1;
        this.remaining += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes += 1;
        if (this.remaining > this.packetBytesMax || (this.lengthBytes === 4 && (byte & 0x80) !== 0)) {
          this.oversize = this.remaining;
          return started;
        }
        if ((byte & 0x80) === 0) this.phase = this.remaining === 0 ? 'type' : 'body';
      } else {
        const take = Math.min(this.remaining, chunk.length - offset);
        offset += take;
        this.remaining -= take;
        if (this.remaining === 0) this.phase = 'type';
      }
    }
    return started;
  }
}

export class PacketSizeGuard extends Duplex {
  private readonly inbound: FrameScanner;
  /** The broker's own packets are well formed; this only counts them. */
  private readonly outbound = new FrameScanner(Number.MAX_SAFE_INTEGER);
  /** The socket is corked until the end of this event-loop turn (see `corkForTurn`). */
  private corkedForTurn = false;

  constructor(
    private readonly inner: Duplex,
    packetBytesMax: number,
    private readonly onOversize: (size_bytes: number) => void,
    private readonly outboundBytesMax: number,
    private readonly onSlowReader: (buffered_bytes: number) => void,
    private readonly traffic: TrafficCounts,
  ) {
    super();
    this.inbound = new FrameScanner(packetBytesMax);
    inner.on('data', (chunk: Buffer) => {
      if (!this.scan(chunk)) return;
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (error) => this.destroy(error));
    inner.on('close', () => this.destroy());
  }

  /** Counts the bytes and packets; false (and the connection destroyed) once the limit is broken. */
  private scan(chunk: Buffer): boolean {
    this.traffic.bytesIn += chunk.length;
    this.traffic.packetsIn += this.inbound.scan(chunk);
    if (this.inbound.oversize === null) return true;
    this.onOversize(this.inbound.oversize);
    this.inner.destroy();
    this.destroy();
    return false;
  }

  private counted(chunk: Buffer): Buffer {
    this.traffic.bytesOut += chunk.length;
    this.traffic.packetsOut += this.outbound.scan(chunk);
    return chunk;
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.corkForTurn();
    this.inner.write(this.counted(chunk));
    this.afterWrite(callback);
  }

  // aedes corks this stream and writes many packets at once: they join the turn's one write.
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.corkForTurn();
    for (const { chunk } of chunks) this.inner.write(this.counted(chunk));
    this.afterWrite(callback);
  }

  /**
   * Coalesces: the first write of an event-loop turn corks the socket, and `setImmediate` (after
   * the turn's I/O callbacks, so every packet those produced) uncorks it: one `writev` per client
   * per turn instead of one per packet (PUBACK, verdict, forward). Corked bytes count in
   * `writableLength`, so the slow-reader bound below still sees them [docs/DESIGN.md rule 15].
   */
  private corkForTurn(): void {
    if (this.corkedForTurn) return;
    this.corkedForTurn = true;
    this.inner.cork();
    setImmediate(this.uncorkTurn);
  }

  private readonly uncorkTurn = (): void => {
    if (!this.corkedForTurn) return;
    this.corkedForTurn = false;
    if (!this.inner.destroyed) this.inner.uncork();
  };

  /**
   * Takes the write at once, unless the socket holds too much unsent: then the client is dropped.
   * A turn that has coalesced `COALESCED_BYTES_MAX` is flushed first, so only bytes the kernel
   * would not take count against the bound, never a healthy client's busy turn.
   */
  private afterWrite(callback: (error?: Error | null) => void): void {
    if (this.corkedForTurn && this.inner.writableLength >= COALESCED_BYTES_MAX) this.uncorkTurn();
    const buffered = this.inner.writableLength;
    if (buffered > this.outboundBytesMax) {
      this.onSlowReader(buffered);
      this.inner.destroy();
      this.destroy();
    }
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // aedes destroys a connection right after writing its last packets (a reply, then a closed
    // session): hand the turn's coalesced bytes to the socket first, as an uncorked write was.
    this.uncorkTurn();
    this.inner.destroy();
    callback(error);
  }
}
