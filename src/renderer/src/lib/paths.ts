/** Path helpers for folder fields (the renderer has no `node:path`): join with the separator the base uses. */

/** Joins `base` and `name` with `\` when `base` is a Windows path, `/` otherwise. */
export function joinPath(base: string, name: string): string {
  if (!base) return name;
  const separator = /^[A-Za-z]:\\|^\\\\/.test(base) ? '\\' : '/';
  return base.endsWith(separator) ? `${base}${name}` : `${base}${separator}${name}`;
}
