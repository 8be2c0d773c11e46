/**
 * The small composing module of the stores: connects the events one store emits (events.ts) to the stores that
 * react, so the stores themselves import only downwards. Called once, after Pinia is installed (main.ts).
 */
import { useCandidatesStore } from './candidates.ts';
import { useCompareStore } from './compare.ts';
import { onStoreEvent } from './events.ts';
import { useExportStore } from './export.ts';
import { useFilterStore } from './filter.ts';
import { useInspectorStore } from './inspector.ts';
import { useReportStore } from './report.ts';
import { useWorkspaceStore } from './workspace.ts';

let wired: (() => void)[] | null = null;

/** Connects the stores' events; a second call changes nothing. Returns the function that disconnects them. */
export function wireStores(): () => void {
  wired ??= [
    onStoreEvent('image-committed', ({ imageId }) => void useWorkspaceStore().imageCommitted(imageId)),
    // a cancelled or failed re-caption renumbers nothing (the committed image, if any, was handled already)
    onStoreEvent('run-finished', () => (useWorkspaceStore().recaptioning = null)),
    onStoreEvent('settings-saved', ({ tau }) => useFilterStore().setTau(tau)),
    // every view's state belongs to one project: another project starts each view empty (answers in flight for the
    // previous one are dropped by the views' own "still the one shown" checks, which the reset makes fail)
    onStoreEvent('project-switched', () => {
      useWorkspaceStore().close();
      useCandidatesStore().$reset();
      useInspectorStore().$reset();
      useCompareStore().clear();
      useReportStore().clear();
      useExportStore().forgetResult();
    }),
  ];
  return () => {
    for (const stop of wired ?? []) stop();
    wired = null;
  };
}
