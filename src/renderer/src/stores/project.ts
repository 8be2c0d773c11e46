/**
 * The open project, its images (gallery) and the batch run: status, progress events, start/pause/resume/cancel.
 */
import { defineStore } from 'pinia';
import type {
  ImageSummary,
  ProjectInfo,
  QueueProgress,
  RunFinished,
  RunProgress,
  RunStatus,
} from '../../../shared/api.ts';
import { imageObjectUrl } from '../lib/image-url.ts';
import { neighbourImage, type GalleryFilter, type GalleryOrder } from '../lib/gallery-order.ts';
import { api, errorMessage } from './api.ts';
import { useAppStore } from './app.ts';
import { emitStoreEvent } from './events.ts';
import { useFilterStore } from './filter.ts';
import { useSettingsStore } from './settings.ts';

/** Longest side of gallery thumbnails, in pixels. */
const THUMBNAIL_SIDE = 160;
/** Tiles per `project:images` page: the gallery asks for the pages its visible rows fall in. */
export const GALLERY_PAGE = 120;
/** Thumbnails kept as object URLs at most (the gallery scrolls through 100k images; each URL holds a PNG). */
const THUMBNAILS_KEPT = 600;
/** Page loads on their way, by page index (one request per page). */
const pageLoads = new Map<number, Promise<void>>();
/** Bumped by every refresh: an answer for an older filter, order or τ is dropped. */
let generation = 0;
let pagesTimer: ReturnType<typeof setTimeout> | null = null;

let subscribed = false;
/** Stored scores are re-read at most this often while a run commits images (τ counts follow the run). */
const SCORES_REFRESH_MS = 2000;
let scoresTimer: ReturnType<typeof setTimeout> | null = null;

export const useProjectStore = defineStore('project', {
  state: () => ({
    project: null as ProjectInfo | null,
    /** Loaded gallery pages (engine-computed: filter and order applied), by page index. */
    pages: {} as Record<number, ImageSummary[]>,
    /** Images matching the gallery's filter (the scroll height); the pages hold some of them. */
    pageTotal: 0,
    /** `filter|order` the loaded pages were computed for, and page requests on their way (tests wait on both). */
    loadedQuery: '',
    loadingPages: 0,
    /** Every image of the project by status (the engine's count, whatever is loaded). */
    statusCounts: { pending: 0, running: 0, done: 0, error: 0 } as Record<ImageSummary['status'], number>,
    thumbnails: {} as Record<string, string>,
    run: null as RunStatus | null,
    progress: null as RunProgress | null,
    lastFinished: null as RunFinished | null,
    busy: false,
    /** How many images the next run processes (null = every image not done yet). */
    runCount: null as number | null,
    /** Pause was asked for and the engine is finishing the image in flight (until the run says paused). */
    pauseRequested: false,
    /** The gallery's filter and order (the previous/next image keys of other views follow them). */
    galleryFilter: 'all' as GalleryFilter,
    galleryOrder: 'project' as GalleryOrder,
    /** The Redis URL of the last queued run started here (typed by the user; kept for the next one). */
    queueUrl: '',
    /** Its queue name (empty: the default, "pseudo-ris"). */
    queueName: '',
  }),
  getters: {
    /** The loaded tiles in the gallery's order (the engine filtered and ordered them; pages may be missing). */
    images(state): ImageSummary[] {
      return Object.keys(state.pages)
        .map(Number)
        .sort((a, b) => a - b)
        .flatMap((page) => state.pages[page]);
    },
    /** The tiles the gallery shows, in its order, as far as loaded. */
    galleryList(): ImageSummary[] {
      return this.images;
    },
    /** The position (1-based) of an image in the gallery's list, or 0 when its page is not loaded. */
    positionOf(state): (imageId: string | null) => number {
      return (imageId) => {
        for (const [page, tiles] of Object.entries(state.pages)) {
          const k = tiles.findIndex((tile) => tile.id === imageId);
          if (k >= 0) return Number(page) * GALLERY_PAGE + k + 1;
        }
        return 0;
      };
    },
    /** The image before (−1) or after (+1) `imageId` in the gallery's list, failed images skipped; null at an end. */
    neighbour(): (imageId: string | null, delta: 1 | -1) => ImageSummary | null {
      return (imageId, delta) => neighbourImage(this.galleryList, imageId, delta);
    },
    counts: (state) => state.statusCounts,
    /** Images of the project. */
    imageCount: (state) => Object.values(state.statusCounts).reduce((a, b) => a + b, 0),
    isRunning: (state) => state.run?.state === 'running' || state.run?.state === 'cancelling',
    isPaused: (state) => state.run?.state === 'paused',
    /** The open project runs on the generated shapes-world pack. */
    demo: (state) => state.project?.pack?.demo ?? false,
    /**
     * The status a gallery tile shows, derived from the run too: an image is "running" only while a run is active
     * and working on it; after a pause, cancel or a finished run a stale "running" reads as pending.
     */
    tileStatus(state): (image: ImageSummary) => ImageSummary['status'] {
      const active = state.run?.state === 'running' || state.run?.state === 'cancelling';
      return (image) => (image.status === 'running' && !active ? 'pending' : image.status);
    },
    /** A queued run's queue (waiting, active per worker, done, failed, images/min), while one runs. */
    queue: (state): QueueProgress | null => (state.run?.coordinator ? (state.progress?.queue ?? null) : null),
    /** The run is a queued run another process coordinates: this app only shows it. */
    coordinatedElsewhere: (state) => state.run?.coordinator === 'elsewhere',
    /** Progress inside the current image: "captions 3/8 crops" (null between images or with no run). */
    withinText(state): string | null {
      const p = state.progress;
      // between images the stage repeats the run's state (paused, cancelled, done): nothing to add
      if (!state.run || !p || !p.stage || p.stage === p.state || !p.imageId) return null;
      if (!p.within) return p.stage;
      return `${p.stage} ${p.within.done}/${p.within.total} ${p.within.unit}`;
    },
  },
  actions: {
    /** Subscribes to run and project events once per page. */
    subscribe(): void {
      if (subscribed) return;
      subscribed = true;
      api().onProgress((progress) => {
        this.progress = progress;
        if (progress.state !== 'running') this.pauseRequested = false;
        this.run = {
          runId: progress.runId,
          state: progress.state,
          imagesDone: progress.imagesDone,
          imagesFailed: progress.imagesFailed,
          imagesTotal: progress.imagesTotal,
          ...(progress.coordinator ? { coordinator: progress.coordinator } : {}),
        };
      });
      api().onImageUpdated((image) => {
        // the tile, where its page is loaded; the counts and the order come with the next page reload
        for (const tiles of Object.values(this.pages)) {
          const i = tiles.findIndex((item) => item.id === image.id);
          if (i >= 0) {
            if (tiles[i].status !== image.status) {
              this.statusCounts[tiles[i].status]--;
              this.statusCounts[image.status]++;
            }
            tiles[i] = image;
            if (image.status === 'done' && !this.thumbnails[image.id]) void this.loadThumbnail(image.id);
          }
        }
        pagesTimer ??= setTimeout(() => {
          pagesTimer = null;
          void this.reloadPages();
        }, SCORES_REFRESH_MS);
        if (image.status === 'done') {
          emitStoreEvent('image-committed', { imageId: image.id });
          scoresTimer ??= setTimeout(() => {
            scoresTimer = null;
            void useFilterStore().load();
          }, SCORES_REFRESH_MS);
        }
      });
      api().onRunFinished((finished) => void this.runFinished(finished));
      api().onProjectChanged((project) => {
        const switched = this.adopt(project);
        void this.refresh();
        if (switched) {
          // another project: its run (or a queued run another process coordinates on it) is the engine's to say
          this.progress = null;
          void api()
            .runStatus()
            .then((status) => (this.run = status))
            .catch(() => {});
          void this.reloadDerived();
        }
      });
    },
    /**
     * A run ended or stopped. The run state is re-read from the engine rather than assumed: a paused run is still
     * there (resumable) and is announced as paused, never as "cancelled"; tiles and counts are re-fetched.
     */
    async runFinished(finished: RunFinished): Promise<void> {
      this.lastFinished = finished;
      this.progress = null;
      this.pauseRequested = false;
      emitStoreEvent('run-finished', {});
      let status: RunStatus | null = null;
      try {
        status = await api().runStatus();
      } catch {
        // the engine went away: no run
      }
      this.run = status;
      const app = useAppStore();
      if (status?.state === 'paused')
        app.notify(
          'info',
          `Run paused: ${status.imagesDone} of ${status.imagesTotal} done; Resume continues`,
        );
      else if (finished.outcome === 'failed')
        app.notify('error', `Run failed: ${finished.error ?? 'unknown error'}`);
      else
        app.notify(
          'info',
          `Run ${finished.outcome}: ${finished.imagesDone} done, ${finished.imagesFailed} failed in ${finished.seconds.toFixed(1)} s`,
        );
      void this.refresh();
      void useFilterStore().load();
      void app.loadModels();
    },
    /** Loads the current project (if the engine already has one open) and the run state. */
    async load(): Promise<void> {
      this.subscribe();
      try {
        this.adopt(await api().currentProject());
        this.run = await api().runStatus();
        // After a reload the counts, settings and panels come from the engine's state, not from a button press.
        if (this.project) await Promise.all([this.refresh(), this.reloadDerived()]);
      } catch (error) {
        useAppStore().notify('error', `Project: ${errorMessage(error)}`);
      }
    },
    /**
     * Re-reads everything derived from the open project (stored scores for τ counts, settings, models), first
     * clearing the previous project's, so no number of an older project stays on screen.
     */
    async reloadDerived(): Promise<void> {
      const filter = useFilterStore();
      filter.clear();
      await Promise.all([filter.load(), useSettingsStore().load(), useAppStore().loadModels()]);
    },
    /** Reloads the gallery from its first page (a project, filter or order change); other pages load on scroll. */
    async refresh(): Promise<void> {
      generation++;
      pageLoads.clear();
      if (!this.project) {
        this.pages = {};
        this.pageTotal = 0;
        this.statusCounts = { pending: 0, running: 0, done: 0, error: 0 };
        return;
      }
      this.pages = {};
      await this.loadPage(0);
    },
    /** Loads the pages of tiles `first`..`last` (positions in the gallery's list) not loaded yet. */
    async ensureRange(first: number, last: number): Promise<void> {
      const pages: Promise<void>[] = [];
      for (let page = Math.floor(first / GALLERY_PAGE); page <= Math.floor(last / GALLERY_PAGE); page++)
        if (!this.pages[page] && page * GALLERY_PAGE < Math.max(1, this.pageTotal))
          pages.push(this.loadPage(page));
      await Promise.all(pages);
    },
    /** Loads one page of the gallery (filter, order and τ as the page shows them). */
    loadPage(page: number): Promise<void> {
      const pending = pageLoads.get(page);
      if (pending) return pending;
      const asked = generation;
      const query = `${this.galleryFilter}|${this.galleryOrder}`;
      this.loadingPages++;
      const load = (async () => {
        const answer = await api().listImages({
          offset: page * GALLERY_PAGE,
          limit: GALLERY_PAGE,
          filter: this.galleryFilter,
          order: this.galleryOrder,
          tau: useFilterStore().tau,
        });
        if (asked !== generation) return;
        this.pages[page] = answer.images;
        this.pageTotal = answer.total;
        this.statusCounts = answer.counts;
        this.loadedQuery = query;
      })().finally(() => {
        this.loadingPages--;
        if (pageLoads.get(page) === load) pageLoads.delete(page);
      });
      pageLoads.set(page, load);
      return load;
    },
    /** Reloads the loaded pages (a run committed images: statuses, counts and order changed). */
    async reloadPages(): Promise<void> {
      if (!this.project) return;
      const loaded = Object.keys(this.pages).map(Number);
      generation++;
      pageLoads.clear();
      await Promise.all((loaded.length ? loaded : [0]).map((page) => this.loadPage(page)));
    },
    async loadThumbnail(imageId: string): Promise<void> {
      try {
        const bytes = await api().getImage({ imageId, maxSide: THUMBNAIL_SIDE });
        this.thumbnails[imageId] = imageObjectUrl(bytes);
        // the oldest go first (object keys keep insertion order): scrolled-away tiles load theirs again
        const ids = Object.keys(this.thumbnails);
        for (const old of ids.slice(0, Math.max(0, ids.length - THUMBNAILS_KEPT))) {
          URL.revokeObjectURL(this.thumbnails[old]);
          delete this.thumbnails[old];
        }
      } catch {
        // Unreadable images show their error instead of a thumbnail.
      }
    },
    /**
     * Runs `work` with the busy flag; a failure is an error notice of `cause` (default: the label), which the next
     * success of the same cause clears.
     */
    async withBusy(label: string, work: () => Promise<void>, cause = label): Promise<void> {
      this.busy = true;
      try {
        await work();
        useAppStore().resolve(cause);
      } catch (error) {
        useAppStore().notify('error', `${label}: ${errorMessage(error)}`, cause);
      } finally {
        this.busy = false;
      }
    },
    async openDemo(dir: string, count: number): Promise<void> {
      await this.withBusy(
        'Open demo scenes',
        async () => {
          // the open project stays on screen until the engine has opened the other one (a failed open changes nothing)
          this.adopt(await api().openDemoProject({ dir, count }));
          await Promise.all([this.refresh(), this.reloadDerived()]);
        },
        'project',
      );
    },
    async open(dir: string): Promise<void> {
      await this.withBusy(
        'Open project',
        async () => {
          // the open project stays on screen until the engine has opened the other one (a failed open changes nothing)
          this.adopt(await api().openProject({ dir }));
          await Promise.all([this.refresh(), this.reloadDerived()]);
        },
        'project',
      );
    },
    /** Creates a project in `dir`, with the images of `images` when given (a missing folder creates nothing). */
    async create(dir: string, images?: string): Promise<void> {
      await this.withBusy(
        'Create project',
        async () => {
          // the open project stays on screen until the engine has opened the other one (a failed open changes nothing)
          this.adopt(await api().createProject(images ? { dir, images } : { dir }));
          await Promise.all([this.refresh(), this.reloadDerived()]);
        },
        'project',
      );
    },
    async addImages(folder: string): Promise<void> {
      await this.withBusy(
        'Add images',
        async () => {
          const added = await api().addImageFolder({ folder });
          this.project = added.project;
          useAppStore().notify('info', `Added ${added.added} images (${added.skipped} skipped)`);
          await this.refresh();
        },
        'project',
      );
    },
    async start(force = false): Promise<void> {
      await this.withBusy(
        'Start run',
        async () => {
          // the next N images are the engine's to list (the page holds only what it shows)
          let imageIds: string[] | undefined;
          if (this.runCount) {
            imageIds = [];
            for (let offset = 0; imageIds.length < this.runCount; offset += 1000) {
              const page = await api().listImages({ offset, limit: 1000 });
              imageIds.push(
                ...page.images.filter((image) => force || image.status !== 'done').map((image) => image.id),
              );
              if (offset + 1000 >= page.total) break;
            }
            imageIds = imageIds.slice(0, this.runCount);
          }
          this.lastFinished = null;
          this.run = await api().startRun({ imageIds, force });
        },
        'run',
      );
    },
    /**
     * Runs every image not done yet through a Redis queue: the engine coordinates, `pseudo-ris worker` processes
     * compute (`url` = redis://[:password@]host:port/db or rediss://…).
     */
    async startQueued(url: string, name?: string): Promise<void> {
      await this.withBusy(
        'Start queued run',
        async () => {
          this.queueUrl = url;
          this.queueName = name ?? '';
          this.lastFinished = null;
          this.run = await api().startRun({ queue: name ? { url, name } : { url } });
        },
        'run',
      );
    },
    /** Re-captions one finished image with its current (edited) mask set: a run of that image with `force`. */
    async recaption(imageId: string): Promise<void> {
      await this.withBusy('Re-caption', async () => {
        this.lastFinished = null;
        this.run = await api().startRun({ imageIds: [imageId], force: true });
      });
    },
    async pause(): Promise<void> {
      await this.withBusy(
        'Pause',
        async () => {
          // The engine answers once the image in flight is committed and the run has paused: until then the
          // button and the bar say "Pausing…" (issue 22: they said "Pause" / "running" for 97 s).
          this.pauseRequested = true;
          try {
            this.run = await api().pauseRun();
          } finally {
            this.pauseRequested = false;
          }
        },
        'run',
      );
    },
    async resume(): Promise<void> {
      await this.withBusy(
        'Resume',
        async () => {
          this.pauseRequested = false;
          this.run = await api().resumeRun();
        },
        'run',
      );
    },
    async cancel(): Promise<void> {
      await this.withBusy(
        'Cancel',
        async () => {
          this.run = await api().cancelRun();
        },
        'run',
      );
    },
    /**
     * Makes `project` the open project. Another project than the one shown (by folder, its id) first clears every
     * view's state of the previous one (the `project-switched` store event) and the thumbnails; answers whether it
     * switched.
     */
    adopt(project: ProjectInfo | null): boolean {
      const switched = (project?.dir ?? null) !== (this.project?.dir ?? null);
      if (switched) {
        this.clearThumbnails();
        // the previous project's pages must not show under the new one (a later page load re-fills them)
        generation++;
        pageLoads.clear();
        this.pages = {};
        this.pageTotal = 0;
        this.statusCounts = { pending: 0, running: 0, done: 0, error: 0 };
        emitStoreEvent('project-switched', { dir: project?.dir ?? null });
      }
      this.project = project;
      return switched;
    },
    clearThumbnails(): void {
      for (const url of Object.values(this.thumbnails)) URL.revokeObjectURL(url);
      this.thumbnails = {};
    },
  },
});
