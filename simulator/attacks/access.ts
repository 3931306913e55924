// Attacks on who may say what: logging in as another device (its id, the rogue's key),
// publishing a fake "you were paid" message into a seller's inbox, and subscribing to every
// device's inbox. The first must be refused at CONNECT; the others must cost the rogue its
// connection. Each is confirmed by the broker's own log.
import mqtt from 'mqtt';
import { signConnectPassword } from '../../shared/connect-token.js';
import { sign } from '../../shared/crypto.js';
import { CONNECT_NONCE_BYTES } from '../../shared/limits.js';
import { inboxTopic, parseDeliveredTopic } from '../../shared/topics.js';
import { amountOf } from '../../shared/amount.js';
import { within } from '../world/sim-clock.js';
import { ATTACK_ANSWER_MS, skipped, type Attack, type AttackContext, type AttackResult } from './attack.js';
import { PROTOCOL_VERSION } from '../../shared/schemas.js';

/** CONNACK "bad user name or password" [MQTT-3.2.2.3]. */
const BAD_USERNAME_OR_PASSWORD = 4;
const ALL_INBOXES = 'mqpay/v1/d/+/in/#';

/** Connects once as `device` with a token the rogue signed; resolves with the CONNACK refusal code (0 = let in). */
function connectAs(ctx: AttackContext, device: string): Promise<number | null> {
  const password = Buffer.from(signConnectPassword({
    device, broker: ctx.brokerId, timeMs: ctx.clock.nowMs(), nonce: ctx.random(CONNECT_NONCE_BYTES), secretKey: ctx.rogue.keys.secretKey, sign,
  }));
  const client = mqtt.connect(ctx.brokerUrl, { clientId: device, username: device, password, protocolVersion: 4, clean: true, keepalive: 30, reconnectPeriod: 0, connectTimeout: ATTACK_ANSWER_MS });
  return new Promise((resolve) => {
    const finish = (code: number | null) => {
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      resolve(code);
    };
    client.once('connect', () => finish(0));
    client.on('error', (error: Error & { code?: unknown }) => finish(typeof error.code === 'number' ? error.code : null));
    client.once('close', () => finish(null));
  });
}

export const impersonation: Attack = async (ctx) => {
  const victim = ctx.rogue.plan.impersonates;
  const expected = `CONNACK ${BAD_USERNAME_OR_PASSWORD} and broker log SIGNATURE_INVALID`;
  const mark = ctx.brokerLog.mark();
  const code = await connectAs(ctx, victim);
  const logged = await ctx.brokerLog.waitFor(mark, (e) => e.msg === 'connection refused' && e.client === victim, ATTACK_ANSWER_MS);
  const observed = `CONNACK ${code ?? 'none'}; broker logged ${logged === null ? 'nothing' : logged.code ?? '?'}`;
  if (code === null && logged === null) return { status: 'unanswered', expected, observed };
  const refused = code === BAD_USERNAME_OR_PASSWORD && logged?.code === 'SIGNATURE_INVALID';
  return { status: refused ? 'rejected' : 'succeeded', expected, observed };
};

/** Runs `act` on the rogue's own connection and expects the broker to cut it and log the violation. */
async function expectDisconnect(ctx: AttackContext, act: () => void): Promise<AttackResult> {
  const { link } = ctx.rogue;
  const expected = 'disconnected and logged as an ACL violation';
  if (!link.connected) return { status: 'interrupted', expected, observed: 'not connected' };
  const mark = ctx.brokerLog.mark();
  const closed = new Promise<boolean>((resolve) => link.client.once('close', () => resolve(true)));
  act();
  const wasClosed = await within(ctx.clock, closed, ATTACK_ANSWER_MS, false);
  const logged = await ctx.brokerLog.waitFor(mark, (e) => e.msg === 'ACL violation' && e.client === ctx.rogue.plan.id, wasClosed ? ATTACK_ANSWER_MS : 0);
  const observed = `${wasClosed ? 'disconnected' : 'still connected'}; ${logged === null ? 'no ACL violation logged' : 'ACL violation logged'}`;
  return { status: wasClosed && logged !== null ? 'rejected' : 'succeeded', expected, observed };
}

/** A forged "the service forwards you a voucher" message, published straight into the victim's inbox. */
export const aclPublish: Attack = async (ctx) => {
  const { rogue } = ctx;
  if (rogue.channel === null) return skipped('no channel');
  const fake = rogue.signVoucher({ channelId: rogue.channel.id, seq: rogue.latestSeq + 1n, total: amountOf(rogue.channel.deposit) });
  const payload = JSON.stringify({ v: PROTOCOL_VERSION, type: 'voucher', payer: rogue.plan.id, voucher: fake.voucher, signature: fake.signature });
  // QoS 0: a QoS 1 publish would sit in the client's store and be re-sent after every reconnect.
  return expectDisconnect(ctx, () => rogue.link.client.publish(inboxTopic(rogue.plan.victim, 'voucher'), payload, { qos: 0 }));
};

/**
 * How long, after a SUBACK that granted the filter anyway, the attacker watches for another
 * device's inbox message: with the fleet paying, a working subscription to every inbox would
 * carry dozens a second.
 */
export const FOREIGN_DELIVERY_WATCH_MS = 3_000;

/** Counts messages delivered to the rogue's connection from any inbox but its own. */
function watchForeignInboxes(ctx: AttackContext): { readonly count: () => number; readonly stop: () => void } {
  let count = 0;
  const onMessage = (topic: string) => {
    const parsed = parseDeliveredTopic(topic);
    if (parsed?.kind === 'inbox' && parsed.device !== ctx.rogue.plan.id) count += 1;
  };
  ctx.rogue.link.client.on('message', onMessage);
  return { count: () => count, stop: () => void ctx.rogue.link.client.off('message', onMessage) };
}

/**
 * Every device's inbox at once: the broker must refuse the filter and log it. The embedded
 * broker answers SUBACK 0x80. RabbitMQ 3.10 asks the auth service, which refuses and logs it,
 * but may still answer with a granted QoS: then the refusal is judged by what arrives, and no
 * other device's message may arrive while the fleet pays.
 */
export const aclSubscribe: Attack = async (ctx) => {
  const { link } = ctx.rogue;
  const expected = 'refused (SUBACK 0x80, or nothing of another inbox delivered) and logged as an ACL violation';
  if (!link.connected) return { status: 'interrupted', expected, observed: 'not connected' };
  const mark = ctx.brokerLog.mark();
  const foreign = watchForeignInboxes(ctx);
  try {
    const granted = new Promise<number[] | null>((resolve) => {
      link.client.subscribe(ALL_INBOXES, { qos: 1 }, (error, grants) => {
        // MQTT.js reports a 0x80 grant as an error that carries the SUBACK packet.
        const codes = (error as { packet?: { granted?: number[] } } | null | undefined)?.packet?.granted ?? grants?.map((grant) => grant.qos);
        resolve(codes ?? null);
      });
    });
    const codes = await within(ctx.clock, granted, ATTACK_ANSWER_MS, null);
    const refusedBySuback = codes !== null && codes.every((code) => code === 128);
    if (codes !== null && !refusedBySuback) await ctx.clock.sleep(FOREIGN_DELIVERY_WATCH_MS);
    const logged = await ctx.brokerLog.waitFor(mark, (e) => e.msg === 'ACL violation' && e.client === ctx.rogue.plan.id, ATTACK_ANSWER_MS);
    const delivered = foreign.count();
    const refused = codes !== null && (refusedBySuback || delivered === 0);
    const suback = codes === null ? 'no SUBACK' : `SUBACK ${codes.join(',')}${refusedBySuback ? '' : `, then ${delivered} messages of other inboxes in ${FOREIGN_DELIVERY_WATCH_MS} ms`}`;
    const observed = `${suback}; ${logged === null ? 'no ACL violation logged' : 'ACL violation logged'}`;
    return { status: refused && delivered === 0 && logged !== null ? 'rejected' : 'succeeded', expected, observed };
  } finally {
    foreign.stop();
  }
};
