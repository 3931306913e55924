// OpenAPI path templates ("/api/devices/{id}") as matchers: each {name} is exactly one
// non-empty path segment, percent-decoded (a malformed escape is passed on as written, for the
// route's schema to refuse).

export interface CompiledPath {
  readonly regex: RegExp;
  readonly names: readonly string[];
}

export function compilePath(template: string): CompiledPath {
  const names: string[] = [];
  const source = template
    .split('/')
    .map((segment) => {
      const param = /^\{([A-Za-z][A-Za-z0-9]*)\}$/.exec(segment);
      if (param === null) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1] ?? '');
      return '([^/]+)';
    })
    .join('/');
  return { regex: new RegExp(`^${source}$`), names };
}

/** The path parameters, or null when the path does not match. */
export function matchPath(pattern: CompiledPath, pathname: string): Record<string, string> | null {
  const match = pattern.regex.exec(pathname);
  if (match === null) return null;
  const params: Record<string, string> = {};
  pattern.names.forEach((name, i) => {
    params[name] = decode(match[i + 1] ?? '');
  });
  return params;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
