// Links between the dashboard's views: every device name is a link to its page (#/device/{id}).
import { h } from './dom.js';

export const devicePath = (id: string): string => `#/device/${encodeURIComponent(id)}`;

/** The device id of a location hash like "#/device/car-1", or null for the overview. */
export function deviceOfHash(hash: string): string | null {
  const match = /^#\/device\/([^/]+)$/.exec(hash);
  if (match === null) return null;
  try {
    return decodeURIComponent(match[1] ?? '');
  } catch {
    return null;
  }
}

export function deviceLink(id: string, className?: string): HTMLAnchorElement {
  return h('a', { href: devicePath(id), class: className === undefined ? 'device-link' : `device-link ${className}`, 'data-device-link': id }, id);
}
