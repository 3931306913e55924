// The version of this mqpay build, from package.json (bundled in at build time). Distinct from
// the wire protocol's version (PROTOCOL_VERSION in schemas.ts): a release may keep the protocol.
import packageJson from '../package.json' with { type: 'json' };

export const MQPAY_VERSION: string = packageJson.version;
