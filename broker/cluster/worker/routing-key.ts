// MQTT topics and AMQP routing keys as RabbitMQ's MQTT plugin maps them: it swaps `/` and `.`
// (MQTT `mqpay/v1/d/cam.1/out/rpc` is the routing key `mqpay.v1.d.cam/1.out.rpc` on amq.topic).
// Device ids may contain `.` (shared/ids.ts): they are mapped back, never forbidden [issue 15].
// The swap is its own inverse, so one function serves both directions.

const SWAPPED: Readonly<Record<string, string>> = { '/': '.', '.': '/' };

function swapSeparators(text: string): string {
  return text.replace(/[./]/g, (separator) => SWAPPED[separator] ?? separator);
}

/** The routing key RabbitMQ's MQTT plugin gives an MQTT topic (or a topic filter: `+`, `#` map to `*`, `#`). */
export function routingKeyOfTopic(topic: string): string {
  return swapSeparators(topic);
}

/** The MQTT topic behind a routing key of amq.topic (a binding key maps back to its filter). */
export function topicOfRoutingKey(routingKey: string): string {
  return swapSeparators(routingKey);
}

/** An AMQP binding key for an MQTT filter: `+` is `*` in AMQP (`#` is `#` in both). */
export function bindingKeyOfFilter(filter: string): string {
  return routingKeyOfTopic(filter).split('.').map((word) => (word === '+' ? '*' : word)).join('.');
}

/** The MQTT filter a binding key of amq.topic came from (`*` back to `+`). */
export function filterOfBindingKey(bindingKey: string): string {
  return bindingKey.split('.').map((word) => (word === '*' ? '+' : word)).map(topicOfRoutingKey).join('/');
}
