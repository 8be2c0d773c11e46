/**
 * The image workspace: one image, its masks, hover/selection, point and box prompts with a live preview, and an
 * undo stack for prompt edits and mask additions/deletions.
 */
import { defineStore } from 'pinia';
import type { MaskPreview, MaskView } from '../../../shared/api.ts';
import { api, errorMessage } from './api.ts';
import { useAppStore } from './app.ts';
import { useCandidatesStore } from './candidates.ts';
import { useFilterStore } from './filter.ts';
import { useProjectStore } from './project.ts';
import { imageObjectUrl } from '../lib/image-url.ts';
import { maskSetEdited, renamedMask } from '../lib/recaption.ts';

/** A prompt point in image pixels; label 1 = positive (foreground), 0 = negative. */
export interface PromptPoint {
  x: number;
  y: number;
  label: 0 | 1;
}

/** One undoable workspace action. */
type WorkspaceAction =
  | { kind: 'prompt'; points: PromptPoint[]; box: [number, number, number, number] | null }
  | { kind: 'mask-added'; maskId: string }
  | { kind: 'mask-deleted'; maskId: string }
  | { kind: 'mask-refined'; oldId: string; newId: string };

export const useWorkspaceStore = defineStore('workspace', {
  state: () => ({
    imageId: null as string | null,
    imageUrl: null as string | null,
    width: 0,
    height: 0,
    masks: [] as MaskView[],
    selected: null as number | null,
    hovered: null as number | null,
    mode: 'select' as 'select' | 'point' | 'box',
    points: [] as PromptPoint[],
    /** Box prompt, XYWH in pixels (converted to XYXY for the API). */
    box: null as [number, number, number, number] | null,
    preview: null as MaskPreview | null,
    /** The mask the prompts refine (null = prompts add a new mask). */
    refining: null as string | null,
    undoStack: [] as WorkspaceAction[],
    /** What undo took back, newest last: redo applies it again; any new edit clears it. */
    redoStack: [] as WorkspaceAction[],
    loading: false,
    predicting: false,
    /**
     * A re-caption in flight: the image and the mask ids in list order when it started. The engine captions the
     * masks in this order and renumbers them 0..n-1, so a mask's new id is `<image>:<position>`.
     */
    recaptioning: null as { imageId: string; order: string[] } | null,
    /**
     * Enter was pressed on a prompt whose mask nearly repeats a shown one (IoU ≥ 0.9): the workspace asks whether
     * to replace that mask, keep both or cancel before anything is added.
     */
    twin: null as { maskId: string; iou: number } | null,
  }),
  getters: {
    selectedMask: (state) => state.masks.find((mask) => mask.index === state.selected) ?? null,
    hasPrompt: (state) => state.points.length > 0 || state.box !== null,
    /**
     * The shown mask set differs from the one the image's candidates were made for: a prompted mask not captioned
     * yet, or fewer captioned masks than the image's result holds (some were deleted).
     */
    maskSetEdited(state): boolean {
      return maskSetEdited(
        state.masks,
        useProjectStore().images.find((item) => item.id === state.imageId),
      );
    },
  },
  actions: {
    async openImage(imageId: string): Promise<void> {
      if (this.imageId === imageId && this.imageUrl) return;
      if (this.imageUrl) URL.revokeObjectURL(this.imageUrl);
      this.imageUrl = null;
      this.loading = true;
      this.clearPrompt(false);
      this.selected = null;
      this.hovered = null;
      this.undoStack = [];
      this.redoStack = [];
      this.masks = [];
      this.imageId = imageId;
      try {
        const [bytes, masks] = await Promise.all([api().getImage({ imageId }), api().listMasks({ imageId })]);
        // Stepping through images quickly: only the last one opened is shown.
        if (this.imageId !== imageId) return;
        this.imageUrl = imageObjectUrl(bytes);
        this.width = bytes.width;
        this.height = bytes.height;
        this.masks = masks;
      } catch (error) {
        useAppStore().notify('error', `Open image: ${errorMessage(error)}`);
      } finally {
        this.loading = false;
      }
    },
    /** Closes the image (another project was opened): nothing of it stays, its object URL is released. */
    close(): void {
      if (this.imageUrl) URL.revokeObjectURL(this.imageUrl);
      this.$reset();
    },
    async reloadMasks(): Promise<void> {
      if (!this.imageId) return;
      this.masks = await api().listMasks({ imageId: this.imageId });
    },
    /**
     * Re-captions the open image with its current masks (`run:start` with `force`): every mask gets new candidates
     * scored against this mask set. The image's accept/reject/edit decisions are dropped by the engine.
     */
    async recaption(): Promise<void> {
      const imageId = this.imageId;
      if (!imageId || !this.maskSetEdited) return;
      this.recaptioning = { imageId, order: this.masks.map((mask) => mask.id) };
      this.clearPrompt(false);
      this.undoStack = [];
      this.redoStack = [];
      await useProjectStore().recaption(imageId);
      if (!useProjectStore().run) this.recaptioning = null;
    },
    /**
     * A run committed `imageId`: reload its masks when it is open; after a re-caption, keep the selection and the
     * open candidates table on the same mask under its new id.
     */
    async imageCommitted(imageId: string): Promise<void> {
      const recaption = this.recaptioning?.imageId === imageId ? this.recaptioning : null;
      if (recaption) this.recaptioning = null;
      if (this.imageId !== imageId) return;
      const selectedId = this.selectedMask?.id ?? null;
      await this.reloadMasks();
      if (!recaption) return;
      const now = this.masks.map((mask) => mask.id);
      const renamed = (id: string | null) => renamedMask(id, imageId, recaption.order, now);
      const selected = this.masks.find((mask) => mask.id === renamed(selectedId));
      this.selected = selected ? selected.index : null;
      const candidates = useCandidatesStore();
      if (candidates.imageId === imageId && candidates.maskId) {
        const shown = renamed(candidates.maskId);
        if (shown) await candidates.openMask(imageId, shown);
        else candidates.$reset();
      }
    },
    select(index: number | null): void {
      this.selected = index;
    },
    setMode(mode: 'select' | 'point' | 'box'): void {
      this.mode = mode;
    },
    pushPromptUndo(): void {
      this.record({ kind: 'prompt', points: [...this.points], box: this.box });
    },
    /** Records a new edit for undo; a new edit ends what could be redone. */
    record(action: WorkspaceAction): void {
      this.undoStack.push(action);
      this.redoStack = [];
    },
    addPoint(point: PromptPoint): void {
      this.pushPromptUndo();
      this.points = [...this.points, point];
      void this.predict();
    },
    setBox(box: [number, number, number, number]): void {
      this.pushPromptUndo();
      this.box = box;
      void this.predict();
    },
    clearPrompt(record = true): void {
      if (record && (this.points.length || this.box)) this.pushPromptUndo();
      this.points = [];
      this.box = null;
      this.preview = null;
      this.refining = null;
      this.twin = null;
    },
    /** Starts refining the selected mask: the next prompts replace it instead of adding a new one. */
    refineSelected(): void {
      const mask = this.selectedMask;
      if (!mask) return;
      this.clearPrompt();
      this.refining = mask.id;
      this.mode = 'point';
    },
    prompt() {
      const box = this.box
        ? { x0: this.box[0], y0: this.box[1], x1: this.box[0] + this.box[2], y1: this.box[1] + this.box[3] }
        : undefined;
      return { points: this.points, box };
    },
    async predict(): Promise<void> {
      if (!this.imageId || !this.hasPrompt) {
        this.preview = null;
        return;
      }
      this.predicting = true;
      try {
        this.preview = await api().predictMask({
          imageId: this.imageId,
          prompt: this.prompt(),
          ...(this.refining ? { refining: this.refining } : {}),
        });
      } catch (error) {
        this.preview = null;
        useAppStore().notify('error', `Predict mask: ${errorMessage(error)}`);
      } finally {
        this.predicting = false;
      }
    },
    /**
     * Adds the mask predicted from the prompts (or refines the mask being refined). A new mask that nearly repeats a
     * shown one is not added yet: `twin` asks first (see {@link resolveTwin}).
     */
    async commitPrompt(): Promise<void> {
      if (!this.imageId || !this.hasPrompt) return;
      if (!this.refining) {
        // the preview of these very prompts: Enter may come before the last prediction has answered
        if (!this.preview || this.predicting) await this.predict();
        const twin = this.preview?.duplicateOf ?? null;
        if (twin) {
          this.twin = twin;
          this.selected = this.masks.find((mask) => mask.id === twin.maskId)?.index ?? this.selected;
          return;
        }
      }
      await this.addPrompted();
    },
    /** Answers the near-twin question: replace the shown mask, keep both masks, or add nothing. */
    async resolveTwin(choice: 'replace' | 'keep-both' | 'cancel'): Promise<void> {
      const twin = this.twin;
      this.twin = null;
      if (!twin || choice === 'cancel') return;
      if (choice === 'replace') this.refining = twin.maskId;
      await this.addPrompted();
    },
    async addPrompted(): Promise<void> {
      if (!this.imageId || !this.hasPrompt) return;
      try {
        const mask = this.refining
          ? await api().refineMask({ maskId: this.refining, prompt: this.prompt() })
          : await api().addMask({ imageId: this.imageId, prompt: this.prompt() });
        this.record(
          this.refining
            ? { kind: 'mask-refined', oldId: this.refining, newId: mask.id }
            : { kind: 'mask-added', maskId: mask.id },
        );
        this.clearPrompt(false);
        await this.reloadMasks();
        this.selected = mask.index;
        void useProjectStore().refresh();
      } catch (error) {
        useAppStore().notify('error', `Add mask: ${errorMessage(error)}`);
      }
    },
    async deleteSelected(): Promise<void> {
      const mask = this.selectedMask;
      if (!mask) return;
      try {
        await api().deleteMask({ maskId: mask.id });
        this.record({ kind: 'mask-deleted', maskId: mask.id });
        this.selected = null;
        await this.reloadMasks();
        void useProjectStore().refresh();
        // a deleted mask's candidates are no longer kept: refresh the slider's columns
        void useFilterStore().load();
      } catch (error) {
        useAppStore().notify('error', `Delete mask: ${errorMessage(error)}`);
      }
    },
    /** Undoes the last prompt edit, mask addition, deletion or refinement made here (redo brings it back). */
    async undo(): Promise<void> {
      const action = this.undoStack.pop();
      if (!action) return;
      if (action.kind === 'prompt') {
        // the prompt as it is now is what redo restores
        this.redoStack.push({ kind: 'prompt', points: [...this.points], box: this.box });
        this.points = action.points;
        this.box = action.box;
        await this.predict();
        return;
      }
      this.redoStack.push(action);
      try {
        if (action.kind === 'mask-added') await api().deleteMask({ maskId: action.maskId });
        else if (action.kind === 'mask-deleted') await api().restoreMask({ maskId: action.maskId });
        else {
          // a refine added the new mask and marked the old one deleted: both are undone
          await api().deleteMask({ maskId: action.newId });
          await api().restoreMask({ maskId: action.oldId });
        }
        this.selected = null;
        await this.reloadMasks();
        void useProjectStore().refresh();
        void useFilterStore().load();
      } catch (error) {
        useAppStore().notify('error', `Undo: ${errorMessage(error)}`);
      }
    },
    /** Applies again what the last undo took back (Shift+Z, Ctrl+Y). */
    async redo(): Promise<void> {
      const action = this.redoStack.pop();
      if (!action) return;
      if (action.kind === 'prompt') {
        this.undoStack.push({ kind: 'prompt', points: [...this.points], box: this.box });
        this.points = action.points;
        this.box = action.box;
        await this.predict();
        return;
      }
      try {
        // undo deleted an added mask, restored a deleted one, or swapped a refine back: each is reversed again
        if (action.kind === 'mask-added') await api().restoreMask({ maskId: action.maskId });
        else if (action.kind === 'mask-deleted') await api().deleteMask({ maskId: action.maskId });
        else {
          await api().deleteMask({ maskId: action.oldId });
          await api().restoreMask({ maskId: action.newId });
        }
        this.undoStack.push(action);
        this.selected = null;
        await this.reloadMasks();
        void useProjectStore().refresh();
        void useFilterStore().load();
      } catch (error) {
        useAppStore().notify('error', `Redo: ${errorMessage(error)}`);
      }
    },
  },
});
