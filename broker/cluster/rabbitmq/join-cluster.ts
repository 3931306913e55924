// Joins a freshly started node into the cluster of another: stop_app, join_cluster, start_app
// (RabbitMQ resets the joining node's own database and takes the cluster's users, vhost and
// queues), then waits until its listeners are back. Run once per node, on the cluster's first
// start; a node restarted later rejoins by itself (its database remembers the cluster).
import { rabbitmqctl } from './rabbitmqctl.js';
import { waitUntilListening, type RabbitNode } from './rabbit-node.js';

export async function joinCluster(node: RabbitNode, seed: RabbitNode): Promise<void> {
  if (node.nodeName === seed.nodeName) throw new Error(`node ${node.nodeName} cannot join itself`);
  await rabbitmqctl(node, ['stop_app']);
  await rabbitmqctl(node, ['join_cluster', seed.nodeName]);
  await rabbitmqctl(node, ['start_app']);
  await waitUntilListening(node);
}
