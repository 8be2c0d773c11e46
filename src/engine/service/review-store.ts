/**
 * The review store: the project's `review.json` (one zod schema, shared/review.ts `ReviewFileSchema`, read by the
 * same reader as the CLI's `export`, `report` and `eval`), and the review handlers over it — accept/reject decisions, caption edits and their undo, prompted masks, mask
 * deletion and restore, and the mask and candidate views with the review applied. A re-caption's new revision
 * drops the image's older review entries (`supersede`). Edits of an image being re-captioned are refused.
 */
import { join } from 'node:path';
import { ApiError, type MaskPreview, type MaskView, type ParsedParams } from '../../shared/api.ts';
import { REVIEW_FILE } from '../../shared/formats.ts';
import { emptyReview, type ReviewState } from '../../shared/review.ts';
import { readProjectReview } from '../dataset/index.ts';
import { keepPolicy } from '../filter/index.ts';
import { writeFileAtomic } from '../pipeline/index.ts';
import type { SessionState } from './session-state.ts';
import { candidateView, candidateViews, maskViews, parseId, userMaskId } from './views.ts';

export { emptyReview, type ReviewState } from '../../shared/review.ts';

/**
 * Reads a project folder's review (empty when it has none) by the one reader the CLI uses too (dataset/review.ts);
 * throws `engine` naming the file and each wrong field when it is not one.
 */
export function readReview(dir: string): ReviewState {
  try {
    return readProjectReview(dir) ?? emptyReview();
  } catch (error) {
    throw new ApiError('engine', (error as Error).message);
  }
}

type Undo =
  | { kind: 'decision'; id: string; before: 'accepted' | 'rejected' | undefined }
  | { kind: 'decisions'; id: string; changes: { id: string; before: 'accepted' | 'rejected' | undefined }[] }
  | { kind: 'edit'; id: string; before: string | undefined };

/** What the review store needs from the rest of the session. */
export interface ReviewHooks {
  /** Predicts a mask from a prompt (`mask:predict`). */
  predict(params: ParsedParams<'mask:predict'>): Promise<MaskPreview>;
  /** Throws `busy` while image `imageId` is being re-captioned. */
  refuseWhileRecaptioning(imageId: number): void;
}

/** The open project's review state, its undo list and the handlers that change them. */
export class ReviewStore {
  /** The current review (read by views, exports and reports; replaced when a project is opened). */
  state: ReviewState = emptyReview();
  /** Changes with every load, save and supersede: what is computed from the review (counts, report) keys on it. */
  version = 0;
  #undo: Undo[] = [];

  constructor(
    private readonly session: SessionState,
    private readonly hooks: ReviewHooks,
  ) {}

  /**
   * Loads the review of the project just opened and drops entries older than each image's stored revision (a crash
   * between a re-caption's commit and the review update leaves them; the run would have dropped them).
   */
  load(dir: string): void {
    this.state = readReview(dir);
    this.version++;
    this.#undo = [];
    let superseded = false;
    const catalog = this.session.catalog();
    for (const id of catalog.ids()) if (this.supersede(id, catalog.revision(id))) superseded = true;
    if (superseded) this.save();
  }

  /** Appends a predicted mask to image `imageId`'s user masks; answers the image's list. */
  #pushUserMask(imageId: string, preview: MaskPreview): ReviewState['userMasks'][string] {
    const list = (this.state.userMasks[imageId] ??= []);
    const { rle, bbox, area, predictedIou, stability } = preview;
    list.push({ rle, bbox, area, predictedIou, stability });
    return list;
  }

  /** Writes `review.json` of the open project. */
  save(): void {
    this.version++;
    writeFileAtomic(
      join(this.session.require().dir, REVIEW_FILE),
      `${JSON.stringify(this.state, null, 1)}\n`,
    );
  }

  /**
   * Drops the review state of image `imageId` that refers to a revision older than `revision`, and records that
   * the review now refers to `revision`. Answers whether anything changed.
   *
   * Dropped, not remapped, on purpose: a re-caption regenerates every candidate (DCS weighs each mask against all
   * the others, so even a surviving mask's captions change) and renumbers the masks, so an accept/reject/edit keyed
   * `image:mask:n` would otherwise attach silently to a different caption. Prompted masks and deletions are dropped
   * because the new revision's stored masks already include them. Undo entries of the image go too.
   */
  supersede(imageId: number, revision: number): boolean {
    const review = this.state;
    const key = String(imageId);
    if (revision <= (review.revisions[key] ?? 0)) return false;
    this.version++;
    const ofImage = (id: string) => id.startsWith(`${key}:`);
    for (const id of Object.keys(review.decisions)) if (ofImage(id)) delete review.decisions[id];
    for (const id of Object.keys(review.edits)) if (ofImage(id)) delete review.edits[id];
    review.deletedMasks = review.deletedMasks.filter((id) => !ofImage(id));
    delete review.userMasks[key];
    review.revisions[key] = revision;
    this.#undo = this.#undo.filter((entry) =>
      entry.kind === 'decisions' ? !entry.changes.some((change) => ofImage(change.id)) : !ofImage(entry.id),
    );
    return true;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // masks

  masks({ imageId }: ParsedParams<'image:masks'>): MaskView[] {
    const entry = this.session.entry(imageId);
    return maskViews(
      this.session.results.get(entry.id),
      entry.id,
      this.state,
      keepPolicy(this.session.require().file.settings),
    );
  }

  async addMask({ imageId, prompt }: ParsedParams<'mask:add'>): Promise<MaskView> {
    this.hooks.refuseWhileRecaptioning(parseId(imageId, 'image').image);
    const preview = await this.hooks.predict({ imageId, prompt });
    const list = this.#pushUserMask(imageId, preview);
    this.save();
    const id = userMaskId(imageId, list.length - 1);
    return this.masks({ imageId }).find((m) => m.id === id)!;
  }

  async refineMask({ maskId, prompt }: ParsedParams<'mask:refine'>): Promise<MaskView> {
    const { image } = parseId(maskId, 'mask');
    this.hooks.refuseWhileRecaptioning(image);
    const imageId = String(image);
    const preview = await this.hooks.predict({ imageId, prompt, refining: maskId });
    const list = this.#pushUserMask(imageId, preview);
    // The refined mask replaces the old one: the old one is marked deleted (stored results are append-only).
    if (!this.state.deletedMasks.includes(maskId)) this.state.deletedMasks.push(maskId);
    this.save();
    const id = userMaskId(imageId, list.length - 1);
    return this.masks({ imageId }).find((m) => m.id === id)!;
  }

  deleteMask({ maskId }: ParsedParams<'mask:delete'>): { deleted: string } {
    const { image } = parseId(maskId, 'mask');
    this.hooks.refuseWhileRecaptioning(image);
    if (!this.masks({ imageId: String(image) }).some((m) => m.id === maskId))
      throw new ApiError('not-found', `no mask with id "${maskId}"`);
    this.state.deletedMasks.push(maskId);
    this.save();
    return { deleted: maskId };
  }

  /** Undoes `deleteMask` (or a refine's replacement): the mask is no longer marked deleted. */
  restoreMask({ maskId }: ParsedParams<'mask:restore'>): { restored: string } {
    const { image } = parseId(maskId, 'mask');
    this.hooks.refuseWhileRecaptioning(image);
    if (!this.state.deletedMasks.includes(maskId))
      throw new ApiError('not-found', `mask "${maskId}" is not deleted`);
    this.state.deletedMasks = this.state.deletedMasks.filter((id) => id !== maskId);
    this.save();
    return { restored: maskId };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // candidates

  candidates({ imageId, maskId }: ParsedParams<'candidates:list'>) {
    const entry = this.session.entry(imageId);
    const result = this.session.results.get(entry.id);
    if (!result || result.status !== 'done') return [];
    const mask = maskId === undefined ? undefined : parseId(maskId, 'mask');
    if (mask && mask.image !== entry.id)
      throw new ApiError('not-found', `mask ${maskId} is not a mask of image ${imageId}`);
    if (mask?.user !== undefined) return [];
    return candidateViews(result, this.state, mask?.mask);
  }

  decide({ candidateId, decision }: ParsedParams<'candidates:decide'>) {
    const found = this.session.candidate(candidateId);
    this.hooks.refuseWhileRecaptioning(found.result.image.id);
    this.#undo.push({ kind: 'decision', id: candidateId, before: this.state.decisions[candidateId] });
    if (decision === 'none') delete this.state.decisions[candidateId];
    else this.state.decisions[candidateId] = decision;
    this.save();
    return candidateView(found.result.image.id, found.candidate, found.result.masks.length, this.state);
  }

  /**
   * One decision for several candidates as one undo step. Every id is checked before anything changes, so a bad id
   * changes nothing.
   */
  decideMany({ candidateIds, decision }: ParsedParams<'candidates:decideMany'>) {
    const ids = [...new Set(candidateIds)];
    const found = ids.map((id) => this.session.candidate(id));
    for (const f of new Set(found.map((f) => f.result.image.id))) this.hooks.refuseWhileRecaptioning(f);
    this.#undo.push({
      kind: 'decisions',
      id: ids[0],
      changes: ids.map((id) => ({ id, before: this.state.decisions[id] })),
    });
    for (const id of ids) {
      if (decision === 'none') delete this.state.decisions[id];
      else this.state.decisions[id] = decision;
    }
    this.save();
    return found.map((f) => candidateView(f.result.image.id, f.candidate, f.result.masks.length, this.state));
  }

  edit({ candidateId, text }: ParsedParams<'candidates:edit'>) {
    const found = this.session.candidate(candidateId);
    this.hooks.refuseWhileRecaptioning(found.result.image.id);
    this.#undo.push({ kind: 'edit', id: candidateId, before: this.state.edits[candidateId] });
    this.state.edits[candidateId] = text;
    this.save();
    return candidateView(found.result.image.id, found.candidate, found.result.masks.length, this.state);
  }

  undo() {
    const next = this.#undo.at(-1);
    if (next) this.hooks.refuseWhileRecaptioning(parseId(next.id, 'candidate').image);
    const last = this.#undo.pop();
    if (!last) return { candidate: null, candidates: [] };
    const changes = last.kind === 'decisions' ? last.changes : [last];
    const table = last.kind === 'edit' ? this.state.edits : this.state.decisions;
    for (const change of changes) {
      if (change.before === undefined) delete table[change.id];
      else (table as Record<string, string>)[change.id] = change.before;
    }
    this.save();
    const candidates = changes.map((change) => {
      const found = this.session.candidate(change.id);
      return candidateView(found.result.image.id, found.candidate, found.result.masks.length, this.state);
    });
    return { candidate: candidates[0], candidates };
  }
}
