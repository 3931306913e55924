// A loopback port nobody listens on right now: the broker child is started (and restarted
// after a kill) on the same fixed port, so it cannot ask for port 0. One implementation for the
// simulator, the tests and the cluster's servers (broker/cluster/free-port.ts).
export { freePort } from '../../broker/cluster/free-port.js';
