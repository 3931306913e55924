// The dashboard's one route besides the overview: a device's page at #/device/{id} (pure, so
// it is tested under Node).

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
