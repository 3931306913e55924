// The MQTT topic (or filter) behind a routing key RabbitMQ's topic check names, so the cluster
// runs the embedded broker's ACL (broker/mqtt/acl.ts) on it [docs/DESIGN.md rule 7].
//
// What RabbitMQ 3.10.8's MQTT plugin does (rabbit_mqtt_util:to_amqp/1, and measured): it replaces
// every '/' with '.' and '+' with '*'; it does NOT swap '.' and '/'. So the device id `cam.1` is two
// words of the routing key: `mqpay/v1/d/cam.1/out/rpc` is `mqpay.v1.d.cam.1.out.rpc`. The map back
// therefore uses the topic scheme (shared/topics.ts): in `mqpay.v1.d.<...>.(in|out).<box>` and
// `mqpay.v1.offers.<...>` every word between the fixed ones is the device id, re-joined with '.'.
// That is exact: device ids never contain '/', '*' or '#', and box names never contain '.'. For a
// publish it cannot be fooled: device `cam` can only reach `mqpay.v1.d.cam.1.out.rpc`, which maps
// back to device `cam.1`'s outbox and is refused. (Plugin limits with dotted ids are listed in the
// README's cluster section: the plugin turns every '.' of a delivered routing key into '/'.)

const DEVICE_AREA_WORDS = 3; // mqpay v1 d
const OFFERS_AREA_WORDS = 3; // mqpay v1 offers
const BOX_DIRECTIONS = new Set(['in', 'out']);

const wordToLevel = (word: string): string => (word === '*' ? '+' : word);

/** The MQTT topic or filter whose routing key (or binding key) this is. */
export function topicOfRoutingKey(routingKey: string): string {
  const words = routingKey.split('.');
  const [root, version, area] = words;
  if (root === 'mqpay' && version === 'v1') {
    if (area === 'd' && words.length >= DEVICE_AREA_WORDS + 3 && BOX_DIRECTIONS.has(words.at(-2)!)) {
      const device = words.slice(DEVICE_AREA_WORDS, -2);
      return [root, version, area, joinDevice(device), words.at(-2)!, wordToLevel(words.at(-1)!)].join('/');
    }
    if (area === 'offers' && words.length >= OFFERS_AREA_WORDS + 1) {
      return [root, version, area, joinDevice(words.slice(OFFERS_AREA_WORDS))].join('/');
    }
  }
  return words.map(wordToLevel).join('/');
}

/** A one-word wildcard stays a wildcard level; several words are one dotted device id. */
function joinDevice(words: readonly string[]): string {
  return words.length === 1 ? wordToLevel(words[0]!) : words.join('.');
}
