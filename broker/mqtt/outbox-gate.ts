// The gate between an authorized outbox publish and the settlement service: a token bucket per
// device and a bound on its messages in flight. Both are kept across reconnects (a device that
// reconnects gets no fresh burst), bounded by the number of enrolled devices that connect. A device
// over either limit still gets an answer with the error code [docs/DESIGN.md rule 7]; it is neither
// dropped silently nor disconnected.
import type { Logger } from 'pino';
import type { ErrorCode } from '../../shared/errors.js';
import type { OutboxKind } from '../../shared/topics.js';
import type { BrokerConfig } from '../config.js';
import type { Clock, TransportPort } from '../service/ports.js';
import type { SettlementService } from '../service/service.js';
import { replyLimited } from './limit-replies.js';
import { RateLimiter } from './rate-limiter.js';

/** The limits the gate applies (the broker's config, or a worker's). */
export type OutboxLimits = Pick<BrokerConfig, 'messagesPerSecondPerDevice' | 'messagesBurstPerDevice' | 'inFlightPerDevice'>;

export class OutboxGate {
  private readonly limiter: RateLimiter;
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly config: OutboxLimits,
    clock: Clock,
    private readonly service: SettlementService,
    private readonly transport: TransportPort,
    private readonly logger: Logger,
  ) {
    this.limiter = new RateLimiter(clock, config.messagesPerSecondPerDevice, config.messagesBurstPerDevice);
  }

  /** Resolves when the message is handled (durable and answered) or refused with a reply. */
  async pass(device: string, box: OutboxKind, payload: Uint8Array): Promise<void> {
    const pending = this.inFlight.get(device) ?? 0;
    const limited: ErrorCode | null = !this.limiter.take(device) ? 'RATE_LIMITED' : pending >= this.config.inFlightPerDevice ? 'TOO_MANY_IN_FLIGHT' : null;
    this.inFlight.set(device, pending + 1);
    try {
      await (limited !== null ? replyLimited(this.transport, device, box, payload, limited) : this.service.handleOutbox(device, box, payload));
    } catch (error) {
      this.logger.error({ err: error, device, box }, 'outbox message failed');
    } finally {
      const left = (this.inFlight.get(device) ?? 1) - 1;
      if (left > 0) this.inFlight.set(device, left);
      else this.inFlight.delete(device);
    }
  }
}
