// Requests over MQTT (MQTT 3.1.1 has no response topics, so replies are application messages on
// the device's in/rpc). The request id is the client's: a repeated id gets the stored answer,
// so a device that lost the reply can retry without opening a second channel or moving money
// twice; the same id for a different request is IDEMPOTENCY_CONFLICT. A changing request runs
// as one unit of work with its stored answer; its reply goes out only after commit.
import { MqpayError } from '../../../shared/errors.js';
import { isRequestId } from '../../../shared/ids.js';
import { REQUEST_REPLAY_CACHE_ENTRIES_PER_DEVICE_MAX } from '../../../shared/limits.js';
import { parsePayload, PROTOCOL_VERSION, type RpcRequest, rpcRequestSchema, type RpcResponse } from '../../../shared/schemas.js';
import { inboxTopic } from '../../../shared/topics.js';
import type { StoredAnswer } from '../../store/port.js';
import type { ChannelCache } from '../channel-cache.js';
import type { ServiceDeps } from '../ports.js';
import { errorBodyOf, payloadOf } from '../replies.js';
import type { Telemetry } from '../telemetry.js';
import type { UnitOfWork, Work } from '../unit-of-work.js';
import { closeChannel } from './channel-close.js';
import { DoubleSignedRedemption, redeemVoucher } from './channel-redeem.js';
import { redeemChain } from './channel-redeem-chain.js';
import { proveRedeemedLink } from './chain-proof.js';
import { recordDoubleSignEvidence } from '../vouchers/double-sign.js';
import { openChannel } from './channel-open.js';
import { restoreChannel } from './channel-restore.js';
import { topupChannel } from './channel-topup.js';
import { rotateDeviceKey } from './device-rotate.js';
import type { RpcContext } from './context.js';
import { channelList, walletBalance } from './read-methods.js';

type MutatingRequest = Extract<RpcRequest, { method: 'channel.open' | 'channel.topup' | 'channel.close' | 'channel.redeem' | 'channel.redeemChain' | 'device.rotate' | 'channel.restore' }>;
/** Id used to answer a request too malformed to carry a usable id. */
export const UNKNOWN_REQUEST_ID = '-';

function isMutating(request: RpcRequest): request is MutatingRequest {
  return request.method === 'channel.open' || request.method === 'channel.topup' || request.method === 'channel.close' || request.method === 'channel.redeem'
    || request.method === 'channel.redeemChain' || request.method === 'device.rotate' || request.method === 'channel.restore';
}

function dispatch(ctx: RpcContext, device: string, request: MutatingRequest): Promise<Record<string, unknown>> {
  switch (request.method) {
    case 'channel.open': return openChannel(ctx, device, request.params);
    case 'channel.topup': return topupChannel(ctx, device, request.params);
    case 'channel.close': return closeChannel(ctx, device, request.params);
    case 'channel.redeem': return redeemVoucher(ctx, device, request.params);
    case 'channel.redeemChain': return redeemChain(ctx, device, request.params);
    case 'device.rotate': return rotateDeviceKey(ctx, device, request.params);
    case 'channel.restore': return restoreChannel(ctx, device, request.params);
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

/** What a request asks, canonically (sorted keys, bigints as decimals): equal iff the same request. */
export function requestDigest(request: RpcRequest): string {
  const params = request.params as Record<string, unknown>;
  const entries = Object.keys(params).sort().map((key) => [key, String(params[key])]);
  return JSON.stringify([request.method, entries]);
}

/**
 * Which in-flight vouchers a request must wait for: those of the channel it names, or the
 * device's (a rotation thus follows every voucher its device sent before it).
 */
export function orderingKeyOf(device: string, request: RpcRequest): string {
  // A redemption names its channel inside the voucher: tag (8 bytes) and version (1), then the id.
  if (request.method === 'channel.redeem') return request.params.voucher.slice(VOUCHER_CHANNEL_HEX_START, VOUCHER_CHANNEL_HEX_START + 64);
  // And a chain's redemption inside its checkpoint (the same offset).
  if (request.method === 'channel.redeemChain') return request.params.checkpoint.slice(VOUCHER_CHANNEL_HEX_START, VOUCHER_CHANNEL_HEX_START + 64);
  // So does a restore, inside its certificate (the same offset: tag, version, then the id).
  if (request.method === 'channel.restore') return request.params.certificate.slice(VOUCHER_CHANNEL_HEX_START, VOUCHER_CHANNEL_HEX_START + 64);
  return 'channel' in request.params ? request.params.channel : device;
}
const VOUCHER_CHANNEL_HEX_START = 18;

export interface RpcHandlerDeps {
  readonly deps: ServiceDeps;
  readonly cache: ChannelCache;
  readonly telemetry: Telemetry;
  readonly unitOfWork: UnitOfWork;
  /** Resolves once the vouchers received before now on `key` (a channel id in hex, or a device) are answered. */
  readonly vouchersReceived: (key: string) => Promise<void>;
}

export class RpcHandler {
  /**
   * Redemption proofs run one at a time: each spreads its hashes over event-loop turns, and
   * several at once (any device may send them) would add their slices up in every turn.
   */
  private proofs: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: RpcHandlerDeps) {}

  async handle(device: string, payload: Uint8Array): Promise<void> {
    let request: RpcRequest;
    try {
      request = parsePayload(rpcRequestSchema, payload);
    } catch (error) {
      await this.reply(device, { v: PROTOCOL_VERSION, id: requestIdOf(payload), ok: false, error: errorBodyOf(error) });
      return;
    }
    // A close or top-up follows the vouchers its device sent on that channel before it, even
    // while their signatures are with the verify worker; other devices' vouchers never hold it.
    await this.parts.vouchersReceived(orderingKeyOf(device, request));
    if (!isMutating(request)) {
      await this.reply(device, await this.read(device, request));
      return;
    }
    await this.change(device, request);
  }

  private async read(device: string, request: RpcRequest): Promise<RpcResponse> {
    const { reads } = this.parts.deps.store;
    try {
      const result = request.method === 'wallet.balance' ? await walletBalance(reads, device) : await channelList(reads, device);
      return { v: PROTOCOL_VERSION, id: request.id, ok: true, result };
    } catch (error) {
      this.logUnexpected(error, device, request);
      return { v: PROTOCOL_VERSION, id: request.id, ok: false, error: errorBodyOf(error) };
    }
  }

  private async change(device: string, request: MutatingRequest): Promise<void> {
    const { unitOfWork, deps, cache, telemetry } = this.parts;
    const digest = requestDigest(request);
    try {
      // Its hashes run before the unit of work, spread over event-loop turns (chain-proof.ts).
      if (request.method === 'channel.redeemChain') await this.oneProofAtATime(() => proveRedeemedLink(deps.store.reads, request.params));
      await unitOfWork.commit(async (work) => {
        const stored = await work.tx.storedAnswer(device, request.id);
        if (stored !== null) {
          work.publish(this.replyEffect(device, answerOf(stored, digest)));
          return;
        }
        const result = await dispatch({ deps, cache, telemetry, work }, device, request);
        const answer: RpcResponse = { v: PROTOCOL_VERSION, id: request.id, ok: true, result };
        await this.store(work, device, request, digest, answer);
        // The reply goes first, ahead of the notices the method queued.
        work.publish(this.replyEffect(device, answer));
      });
    } catch (error) {
      this.logUnexpected(error, device, request);
      if (error instanceof DoubleSignedRedemption) await this.keepEvidence(error);
      const answer: RpcResponse = { v: PROTOCOL_VERSION, id: request.id, ok: false, error: errorBodyOf(error) };
      // A final refusal is part of the request's history; a passing one (retryable) is not.
      if (!answer.error.retryable) await this.storeRefusal(device, request, digest, answer);
      await this.reply(device, answer);
    }
  }

  /** The redemption's own unit of work rolled back: the evidence is kept in another. */
  private oneProofAtATime(prove: () => Promise<void>): Promise<void> {
    const proved = this.proofs.then(prove);
    this.proofs = proved.catch(() => undefined);
    return proved;
  }

  private async keepEvidence(refusal: DoubleSignedRedemption): Promise<void> {
    const { deps, unitOfWork, telemetry } = this.parts;
    try {
      await recordDoubleSignEvidence(deps, unitOfWork, telemetry, { payer: refusal.row.payer, voucher: refusal.voucher, bytes: refusal.bytes, signature: refusal.signature, acceptedTotal: refusal.acceptedTotal });
    } catch (error) {
      deps.logger.error({ err: error }, 'double-sign evidence not stored');
    }
  }

  private async storeRefusal(device: string, request: MutatingRequest, digest: string, answer: RpcResponse): Promise<void> {
    try {
      await this.parts.unitOfWork.commit(async (work) => {
        if (await work.tx.storedAnswer(device, request.id) === null) await this.store(work, device, request, digest, answer);
      });
    } catch (error) {
      this.parts.deps.logger.error({ err: error, device }, 'refusal not stored; a retry is judged afresh');
    }
  }

  private store(work: Work, device: string, request: MutatingRequest, digest: string, answer: RpcResponse): Promise<void> {
    const stored: StoredAnswer = { digest, response: JSON.stringify(answer) };
    return work.tx.storeAnswer(device, request.id, request.method, stored, this.parts.deps.clock.nowMs(), REQUEST_REPLAY_CACHE_ENTRIES_PER_DEVICE_MAX);
  }

  private replyEffect(device: string, response: RpcResponse): { topic: string; payload: Uint8Array } {
    return { topic: inboxTopic(device, 'rpc'), payload: payloadOf(response) };
  }

  private reply(device: string, response: RpcResponse): Promise<void> {
    return this.parts.unitOfWork.publish([this.replyEffect(device, response)]);
  }

  private logUnexpected(error: unknown, device: string, request: RpcRequest): void {
    if (!(error instanceof MqpayError)) this.parts.deps.logger.error({ err: error, device, method: request.method }, 'request failed');
  }
}

/** The stored answer for a retry, or IDEMPOTENCY_CONFLICT when the id was used for another request. */
function answerOf(stored: StoredAnswer, digest: string): RpcResponse {
  const answer = JSON.parse(stored.response) as RpcResponse;
  // Answers stored before digests were kept (schema version 1) match any retry, as they did then.
  if (stored.digest === '' || stored.digest === digest) return answer;
  return { v: PROTOCOL_VERSION, id: answer.id, ok: false, error: errorBodyOf(new MqpayError('IDEMPOTENCY_CONFLICT', 'request id was used for another request')) };
}
