// Callers waiting for an answer about a voucher (channel, seq). Vouchers are cumulative, so an
// answer about seq n answers every waiter at or below n on the same channel.
import type { MqpayError } from '../../shared/errors.js';

interface Waiter<T> {
  readonly seq: bigint;
  readonly resolve: (value: T) => void;
  readonly reject: (error: MqpayError) => void;
}

export class SeqWaiters<T> {
  private readonly byChannel = new Map<string, Waiter<T>[]>();

  wait(channel: string, seq: bigint): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const list = this.byChannel.get(channel);
      const waiter = { seq, resolve, reject };
      if (list === undefined) this.byChannel.set(channel, [waiter]);
      else list.push(waiter);
    });
  }

  private takeUpTo(channel: string, seq: bigint): Waiter<T>[] {
    const list = this.byChannel.get(channel);
    if (list === undefined) return [];
    const due = list.filter((waiter) => waiter.seq <= seq);
    const rest = list.filter((waiter) => waiter.seq > seq);
    if (rest.length === 0) this.byChannel.delete(channel);
    else this.byChannel.set(channel, rest);
    return due;
  }

  resolveUpTo(channel: string, seq: bigint, value: T): void {
    for (const waiter of this.takeUpTo(channel, seq)) waiter.resolve(value);
  }

  rejectUpTo(channel: string, seq: bigint, error: MqpayError): void {
    for (const waiter of this.takeUpTo(channel, seq)) waiter.reject(error);
  }

  rejectAll(error: MqpayError): void {
    for (const list of this.byChannel.values()) for (const waiter of list) waiter.reject(error);
    this.byChannel.clear();
  }

  get size(): number {
    let count = 0;
    for (const list of this.byChannel.values()) count += list.length;
    return count;
  }
}
