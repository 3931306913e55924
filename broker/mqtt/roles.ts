// Who a connected client is, decided once at CONNECT and looked up by every hook after.
import type { Client } from 'aedes';

export type Role = { readonly kind: 'device'; readonly device: string } | { readonly kind: 'operator' };

const roles = new WeakMap<Client, Role>();

export const setRole = (client: Client, role: Role): void => {
  roles.set(client, role);
};
export const roleOf = (client: Client | null): Role | undefined => (client === null ? undefined : roles.get(client));
/** Operators log in with this username and the configured operator token as password. */
export const OPERATOR_USERNAME = 'operator';
