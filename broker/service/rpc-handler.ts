// Requests over MQTT (MQTT 3.1.1 has no response topics, so replies are application messages on
// the device's in/rpc). The request id is the client's: a repeated id gets the stored answer,
// so a device that lost the reply can retry without opening a second channel or moving money
// twice. Each request runs in one BEGIN IMMEDIATE transaction with its stored answer.
import { MqpayError } from '../../shared/errors.js';
import { isRequestId } from '../../shared/ids.js';
import { REQUEST_REPLAY_CACHE_ENTRIES_PER_DEVICE_MAX } from '../../shared/limits.js';
import { parsePayload, rpcRequestSchema, type AnyRpcResultInput, type RpcRequest, type RpcResponse } from '../../shared/schemas.js';
import { inboxTopic } from '../../shared/topics.js';
import { statement } from '../../sqlite/statement.js';
import type { ServiceDeps } from './ports.js';
import { errorBodyOf, payloadOf } from './replies.js';
import { closeChannel } from './rpc/channel-close.js';
import { openChannel } from './rpc/channel-open.js';
import { topupChannel } from './rpc/channel-topup.js';
import { newContext, type ContextSource, type Effect, type RpcContext } from './rpc/context.js';
import { channelList, walletBalance } from './rpc/read-methods.js';

/** Methods that change state; their answers are stored for idempotent retries. */
const MUTATING = new Set<RpcRequest['method']>(['channel.open', 'channel.topup', 'channel.close']);
/** Id used to answer a request too malformed to carry a usable id. */
export const UNKNOWN_REQUEST_ID = '-';

function dispatch(ctx: RpcContext, device: string, request: RpcRequest): AnyRpcResultInput {
  switch (request.method) {
    case 'channel.open': return openChannel(ctx, device, request.params);
    case 'channel.topup': return topupChannel(ctx, device, request.params);
    case 'channel.close': return closeChannel(ctx, device, request.params);
    case 'wallet.balance': return walletBalance(ctx, device);
    case 'channel.list': return channelList(ctx, device);
  }
}

/** Best-effort request id of a payload that failed validation, so the error can be correlated. */
export function requestIdOf(payload: Uint8Array): string {
  try {
    const json = JSON.parse(new TextDecoder().decode(payload)) as { id?: unknown };
    return isRequestId(json.id) ? json.id : UNKNOWN_REQUEST_ID;
  } catch {
    return UNKNOWN_REQUEST_ID;
  }
}

export class RpcHandler {
  private readonly deps: ServiceDeps;

  constructor(
    private readonly source: ContextSource,
    private readonly publishEffects: (effects: readonly Effect[]) => Promise<void>,
    /** Resolves once the vouchers received before this request are handled. */
    private readonly vouchersReceived: () => Promise<void>,
  ) {
    this.deps = source.deps;
  }

  async handle(device: string, payload: Uint8Array): Promise<void> {
    await this.vouchersReceived();
    const effects: Effect[] = [];
    const response = this.respond(device, payload, effects);
    effects.unshift({ topic: inboxTopic(device, 'rpc'), payload: payloadOf(response) });
    await this.publishEffects(effects);
  }

  private respond(device: string, payload: Uint8Array, effects: Effect[]): RpcResponse {
    let request: RpcRequest;
    try {
      request = parsePayload(rpcRequestSchema, payload);
    } catch (error) {
      return { v: 2, id: requestIdOf(payload), ok: false, error: errorBodyOf(error) };
    }
    const { db, clock, logger } = this.deps;
    const stored = statement(db, 'SELECT response FROM requests WHERE device = ? AND id = ?').get(device, request.id) as { response: string } | undefined;
    if (stored !== undefined) return JSON.parse(stored.response) as RpcResponse;

    const ctx = newContext(this.source);
    // Every accepted voucher is committed first, in its own transaction (see ContextSource).
    this.source.flushVouchers();
    let response: RpcResponse;
    try {
      response = db.transaction((): RpcResponse => {
        const answer: RpcResponse = { v: 2, id: request.id, ok: true, result: dispatch(ctx, device, request) };
        if (MUTATING.has(request.method)) this.store(device, request, answer);
        return answer;
      }).immediate();
    } catch (error) {
      if (!(error instanceof MqpayError)) logger.error({ err: error, device, method: request.method }, 'request failed');
      const answer: Extract<RpcResponse, { ok: false }> = { v: 2, id: request.id, ok: false, error: errorBodyOf(error) };
      // A final refusal is part of the request's history; a passing one (retryable) is not.
      if (MUTATING.has(request.method) && !answer.error.retryable) {
        try {
          this.store(device, request, answer);
        } catch (storeError) {
          logger.error({ err: storeError, device }, 'refusal not stored; a retry is judged afresh');
        }
      }
      return answer;
    }
    for (const apply of ctx.afterCommit) apply();
    effects.push(...ctx.effects);
    return response;
  }

  /** Stores the answer for retries, keeping each device's most recent answers only (bounded). */
  private store(device: string, request: RpcRequest, answer: RpcResponse): void {
    statement(this.deps.db, 'INSERT INTO requests (device, id, method, response, created_at_ms) VALUES (?, ?, ?, ?, ?)').run(
      device, request.id, request.method, JSON.stringify(answer), BigInt(this.deps.clock.nowMs()),
    );
    statement(
      this.deps.db,
      `DELETE FROM requests WHERE device = @device AND id NOT IN
         (SELECT id FROM requests WHERE device = @device ORDER BY created_at_ms DESC, id DESC LIMIT @keep)`,
    ).run({ device, keep: BigInt(REQUEST_REPLAY_CACHE_ENTRIES_PER_DEVICE_MAX) });
  }
}
