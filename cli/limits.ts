// Bounds of the command-line edge itself (the broker's and the agent's own limits are in
// broker/limits.ts and agent/limits.ts).

/** A config file larger than this is refused: a real one is a few hundred bytes. */
export const CONFIG_FILE_BYTES_MAX = 65_536;
/** Prefix of the environment variables that stand in for options: --http-port is MQPAY_HTTP_PORT. */
export const ENV_PREFIX = 'MQPAY_';
