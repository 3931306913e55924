// A device that stops reading, with a tiny receive buffer: the Python client in
// frozen-reader.py (Node cannot set SO_RCVBUF), driven over its stdin and stdout. It connects
// with the device's own signed connect token, subscribes to its inbox, acknowledges what it
// reads, and on `freeze()` stops reading for good.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { KeyPair } from '../../shared/keys.js';
import { inboxFilter } from '../../shared/topics.js';
import { connectPacket, connectPassword, remainingLength } from './broker-adversary.js';
import type { RunningBroker } from './broker-fixture.js';

const SCRIPT = fileURLToPath(new URL('./frozen-reader.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** SUBSCRIBE (packet id 1) to one filter at QoS 1. */
function subscribePacket(filter: string): Buffer {
  const topic = Buffer.from(filter, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(topic.length);
  const body = Buffer.concat([Buffer.from([0x00, 0x01]), length, topic, Buffer.from([0x01])]);
  return Buffer.concat([Buffer.from([0x82]), remainingLength(body.length), body]);
}

export class FrozenReader {
  private readonly said = new Map<string, () => void>();
  private readonly heard = new Set<string>();

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (word) => {
      this.heard.add(word);
      this.said.get(word)?.();
    });
  }

  static async start(broker: RunningBroker, device: string, keys: KeyPair): Promise<FrozenReader> {
    const connect = connectPacket({ clientId: device, username: device, password: connectPassword({ device, broker: broker.app.config.brokerId, keys }), keepaliveSeconds: 300 });
    const child = spawn(PYTHON, [SCRIPT, '127.0.0.1', String(broker.mqttPort), connect.toString('hex'), subscribePacket(inboxFilter(device)).toString('hex')]);
    const reader = new FrozenReader(child);
    await reader.next('ready');
    return reader;
  }

  /** Stops reading; resolves once the client has read its last packet. */
  async freeze(): Promise<void> {
    this.child.stdin.write('freeze\n');
    await this.next('frozen');
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }

  private next(word: string): Promise<void> {
    if (this.heard.has(word)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.said.set(word, resolve);
      this.child.once('exit', (code) => reject(new Error(`frozen reader exited (${code}) before "${word}"`)));
    });
  }
}
