// Links between the dashboard's views: every device name is a link to its page (#/device/{id}).
import { devicePath } from './device-route.js';
import { h } from './dom.js';

export function deviceLink(id: string, className?: string): HTMLAnchorElement {
  return h('a', { href: devicePath(id), class: className === undefined ? 'device-link' : `device-link ${className}`, 'data-device-link': id }, id);
}
