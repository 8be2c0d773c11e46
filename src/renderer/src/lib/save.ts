/**
 * Saving what the page shows as a file: a download from a Blob (served mode: the browser's download; Electron: its
 * save dialog). Nothing crosses the engine API: the user picks where the file goes, so no path is confined by us.
 */

/** A file name from its parts: letters, digits, dot, dash and underscore only ("trace-dcs-top-k-5-ab12.json"). */
export function saveName(parts: readonly (string | number)[], extension: string): string {
  const stem = parts
    .map((part) => String(part).replace(/[^A-Za-z0-9._-]+/g, '-'))
    .filter(Boolean)
    .join('-')
    .replace(/-{2,}/g, '-')
    .replace(/^-|-$/g, '');
  return `${stem || 'file'}.${extension.replace(/^\./, '')}`;
}

/** The JSON text of a saved value: indented, with a `saved` record of what it is. */
export function saveJson(kind: string, value: unknown): string {
  return `${JSON.stringify({ kind, savedBy: 'pseudo-ris-studio', ...(value as object) }, null, 2)}\n`;
}

/** Offers `blob` as a download named `name`. */
export function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // the download has its own reference to the blob by now; revoke on the next turn
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
