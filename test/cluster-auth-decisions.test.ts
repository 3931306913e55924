// The cluster auth backend's pure parts, without RabbitMQ: the form body as RabbitMQ 3.10.8 sends
// it (a captured body), the routing key -> MQTT topic map back, the resource and topic decisions.
import { describe, expect, it } from 'vitest';
import { parseFormBody, textField } from '../broker/cluster/auth/form-body.js';
import { topicOfRoutingKey } from '../broker/cluster/auth/topic-of-routing-key.js';
import { decideResource, decideTopic, decideVhost } from '../broker/cluster/auth/auth-decisions.js';

// What RabbitMQ 3.10.8 POSTed to /auth/user for an MQTT login with the 256 byte values 0..255 as
// password (captured from a real node): unreserved bytes as they are, space as '+', others %XX.
const CAPTURED_PASSWORD = '%00%01%02%03%04%05%06%07%08%09%0A%0B%0C%0D%0E%0F%10%11%12%13%14%15%16%17%18%19%1A%1B%1C%1D%1E%1F+%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F0123456789%3A%3B%3C%3D%3E%3F%40ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~%7F'
  + Array.from({ length: 128 }, (_, index) => `%${(index + 128).toString(16).toUpperCase()}`).join('');

describe('form body', () => {
  it('decodes a binary password byte-exact, as RabbitMQ encodes it', () => {
    const form = parseFormBody(Buffer.from(`username=dev.1&password=${CAPTURED_PASSWORD}&vhost=mqpay&client_id=dev.1`, 'latin1'));
    expect([...form.get('password')!]).toEqual(Array.from({ length: 256 }, (_, index) => index));
    expect(textField(form, 'username')).toBe('dev.1');
    expect(textField(form, 'client_id')).toBe('dev.1');
    expect(textField(form, 'missing')).toBeUndefined();
    // URLSearchParams, for contrast, loses the bytes that are not UTF-8.
    expect(Buffer.from(new URLSearchParams(`p=${CAPTURED_PASSWORD}`).get('p')!, 'utf8').length).not.toBe(256);
  });

  it('refuses bad escapes and repeated fields', () => {
    expect(() => parseFormBody(Buffer.from('password=%G1'))).toThrow(/percent escape/);
    expect(() => parseFormBody(Buffer.from('password=%4'))).toThrow(/percent escape/);
    expect(() => parseFormBody(Buffer.from('username=a&username=b'))).toThrow(/repeated/);
    expect(parseFormBody(Buffer.from('a=&&b')).get('b')).toEqual(new Uint8Array(0));
  });
});

describe('routing key to MQTT topic', () => {
  it.each([
    ['mqpay.v1.d.alice.out.voucher-bin', 'mqpay/v1/d/alice/out/voucher-bin'],
    ['mqpay.v1.d.cam.1.out.rpc', 'mqpay/v1/d/cam.1/out/rpc'],
    ['mqpay.v1.d.a.b.c.in.#', 'mqpay/v1/d/a.b.c/in/#'],
    ['mqpay.v1.d.alice.in.*', 'mqpay/v1/d/alice/in/+'],
    ['mqpay.v1.d.*.out.*', 'mqpay/v1/d/+/out/+'],
    ['mqpay.v1.offers.cam.1', 'mqpay/v1/offers/cam.1'],
    ['mqpay.v1.offers.*', 'mqpay/v1/offers/+'],
    ['mqpay.v1.ops.#', 'mqpay/v1/ops/#'],
    ['mqpay.v1.d.#', 'mqpay/v1/d/#'],
    ['#', '#'],
  ])('%s -> %s', (key, topic) => {
    expect(topicOfRoutingKey(key)).toBe(topic);
  });
});

const device = (name: string) => ({ username: name, vhost: 'mqpay', clientId: name });
const operator = { username: 'operator', vhost: 'mqpay', clientId: 'ops-viewer' };

describe('vhost and resource checks', () => {
  it('allows only the mqpay vhost, for devices and the operator', () => {
    expect(decideVhost(device('alice')).allowed).toBe(true);
    expect(decideVhost(operator).allowed).toBe(true);
    expect(decideVhost({ ...device('alice'), vhost: '/' }).allowed).toBe(false);
    expect(decideVhost({ username: 'mqpay-worker', vhost: 'mqpay' }).allowed).toBe(false);
    expect(decideVhost({ ...device('alice'), clientId: 'bob' }).allowed).toBe(false);
  });

  it('allows a client its own subscription queues and amq.topic, nothing else', () => {
    const queue = (who: typeof operator, name: string, permission: string) => decideResource({ ...who, resource: 'queue', name, permission }).allowed;
    for (const permission of ['configure', 'read', 'write']) expect(queue(device('cam.1'), 'mqtt-subscription-cam.1qos1', permission)).toBe(true);
    expect(queue(device('alice'), 'mqtt-subscription-aliceqos0', 'read')).toBe(true);
    expect(queue(device('alice'), 'mqtt-subscription-bobqos1', 'read')).toBe(false);
    expect(queue(device('alice'), 'mqpay.outbox.0', 'read')).toBe(false);
    expect(queue(operator, 'mqtt-subscription-ops-viewerqos1', 'configure')).toBe(true);
    const exchange = (who: typeof operator, name: string, permission: string) => decideResource({ ...who, resource: 'exchange', name, permission }).allowed;
    expect(exchange(device('alice'), 'amq.topic', 'write')).toBe(true);
    expect(exchange(device('alice'), 'amq.topic', 'read')).toBe(true);
    expect(exchange(device('alice'), 'amq.topic', 'configure')).toBe(false);
    expect(exchange(device('alice'), 'amq.direct', 'write')).toBe(false);
    expect(exchange(operator, 'amq.topic', 'read')).toBe(true);
    expect(exchange(operator, 'amq.topic', 'write')).toBe(false);
  });
});

describe('topic checks (the embedded ACL on the rebuilt topic)', () => {
  const topic = (who: typeof operator, permission: string, routingKey: string, offersWildcard = false) => decideTopic({ ...who, name: 'amq.topic', permission, routingKey }, offersWildcard).allowed;

  it('a device publishes only to its own outbox, dotted ids included', () => {
    expect(topic(device('alice'), 'write', 'mqpay.v1.d.alice.out.voucher-bin')).toBe(true);
    expect(topic(device('cam.1'), 'write', 'mqpay.v1.d.cam.1.out.voucher-bin')).toBe(true);
    expect(topic(device('alice'), 'write', 'mqpay.v1.d.bob.out.voucher-bin')).toBe(false);
    expect(topic(device('cam'), 'write', 'mqpay.v1.d.cam.1.out.voucher-bin')).toBe(false);
    expect(topic(device('alice'), 'write', 'mqpay.v1.d.alice.in.voucher-bin')).toBe(false);
    expect(topic(device('alice'), 'write', 'mqpay.v1.d.alice.out.nonsense')).toBe(false);
  });

  it('a device id with the word "in" after its first word may not publish (another inbox wildcard would read it)', () => {
    expect(topic(device('cam.in'), 'write', 'mqpay.v1.d.cam.in.out.voucher-bin')).toBe(false);
    expect(topic(device('cam.in.2'), 'write', 'mqpay.v1.d.cam.in.2.out.voucher-bin')).toBe(false);
    expect(topic(device('in.cam'), 'write', 'mqpay.v1.d.in.cam.out.voucher-bin')).toBe(true);
  });

  it('a device reads only its own inbox and named offers', () => {
    expect(topic(device('alice'), 'read', 'mqpay.v1.d.alice.in.#')).toBe(true);
    expect(topic(device('cam.1'), 'read', 'mqpay.v1.d.cam.1.in.#')).toBe(true);
    expect(topic(device('alice'), 'read', 'mqpay.v1.d.alice.in.*')).toBe(true);
    expect(topic(device('alice'), 'read', 'mqpay.v1.d.bob.in.#')).toBe(false);
    expect(topic(device('alice'), 'read', 'mqpay.v1.d.*.in.#')).toBe(false);
    expect(topic(device('alice'), 'read', 'mqpay.v1.d.#')).toBe(false);
    expect(topic(device('alice'), 'read', '#')).toBe(false);
    expect(topic(device('alice'), 'read', 'mqpay.v1.offers.bob')).toBe(true);
    expect(topic(device('alice'), 'read', 'mqpay.v1.offers.*')).toBe(false);
    expect(topic(device('alice'), 'read', 'mqpay.v1.offers.*', true)).toBe(true);
  });

  it('the operator reads the ops topics and never publishes', () => {
    expect(topic(operator, 'read', 'mqpay.v1.ops.#')).toBe(true);
    expect(topic(operator, 'read', 'mqpay.v1.d.alice.in.#')).toBe(false);
    expect(topic(operator, 'write', 'mqpay.v1.ops.events')).toBe(false);
    expect(topic(operator, 'write', 'mqpay.v1.d.alice.out.voucher-bin')).toBe(false);
  });

  it('only amq.topic in the mqpay vhost', () => {
    expect(decideTopic({ ...device('alice'), name: 'amq.direct', permission: 'write', routingKey: 'mqpay.v1.d.alice.out.voucher-bin' }, false).allowed).toBe(false);
    expect(decideTopic({ ...device('alice'), vhost: '/', name: 'amq.topic', permission: 'write', routingKey: 'mqpay.v1.d.alice.out.voucher-bin' }, false).allowed).toBe(false);
  });
});
