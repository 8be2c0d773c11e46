/**
 * The small composing module of the stores: connects the events one store emits (events.ts) to the stores that
 * react, so the stores themselves import only downwards. Called once, after Pinia is installed (main.ts).
 */
import { onStoreEvent } from './events.ts';
import { useFilterStore } from './filter.ts';
import { useWorkspaceStore } from './workspace.ts';

let wired: (() => void)[] | null = null;

/** Connects the stores' events; a second call changes nothing. Returns the function that disconnects them. */
export function wireStores(): () => void {
  wired ??= [
    onStoreEvent('image-committed', ({ imageId }) => void useWorkspaceStore().imageCommitted(imageId)),
    // a cancelled or failed re-caption renumbers nothing (the committed image, if any, was handled already)
    onStoreEvent('run-finished', () => (useWorkspaceStore().recaptioning = null)),
    onStoreEvent('settings-saved', ({ tau }) => useFilterStore().setTau(tau)),
  ];
  return () => {
    for (const stop of wired ?? []) stop();
    wired = null;
  };
}
