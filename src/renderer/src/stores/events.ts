/**
 * Store events: a store announces what happened here, and `wiring.ts` connects the stores that react, so that no
 * two stores import each other (project → workspace and settings → filter were cycles). Imports nothing.
 */

/** The events and their payloads. */
export interface StoreEvents {
  /** A run committed an image's results (`image:updated` with status done). */
  'image-committed': { imageId: string };
  /** A run ended (done, cancelled or failed). */
  'run-finished': Record<string, never>;
  /**
   * Another project is open (or none): every view drops the previous project's state, so nothing of it stays on
   * screen or answers a key (issue 22: candidates of the first project under the second's name).
   */
  'project-switched': { dir: string | null };
  /** The project's saved settings were loaded or saved: τ follows them. */
  'settings-saved': { tau: number };
}

type Listener<K extends keyof StoreEvents> = (payload: StoreEvents[K]) => void;
const listeners: { [K in keyof StoreEvents]?: Listener<K>[] } = {};

/** Calls `listener` on every `event`; returns the function that stops it. */
export function onStoreEvent<K extends keyof StoreEvents>(event: K, listener: Listener<K>): () => void {
  const list = (listeners[event] ??= []) as Listener<K>[];
  list.push(listener);
  return () => {
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  };
}

/** Tells every listener of `event`. */
export function emitStoreEvent<K extends keyof StoreEvents>(event: K, payload: StoreEvents[K]): void {
  for (const listener of [...((listeners[event] ?? []) as Listener<K>[])]) listener(payload);
}
