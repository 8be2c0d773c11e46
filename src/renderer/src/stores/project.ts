/**
 * The open project, its images (gallery) and the batch run: status, progress events, start/pause/resume/cancel.
 */
import { defineStore } from 'pinia';
import type { ImageSummary, ProjectInfo, RunFinished, RunProgress, RunStatus } from '../../../shared/api.ts';
import { imageObjectUrl } from '../lib/image-url.ts';
import { api, errorMessage } from './api.ts';
import { useAppStore } from './app.ts';
import { emitStoreEvent } from './events.ts';
import { useFilterStore } from './filter.ts';
import { useSettingsStore } from './settings.ts';

/** Longest side of gallery thumbnails, in pixels. */
const THUMBNAIL_SIDE = 160;

let subscribed = false;
/** Stored scores are re-read at most this often while a run commits images (τ counts follow the run). */
const SCORES_REFRESH_MS = 2000;
let scoresTimer: ReturnType<typeof setTimeout> | null = null;

export const useProjectStore = defineStore('project', {
  state: () => ({
    project: null as ProjectInfo | null,
    images: [] as ImageSummary[],
    thumbnails: {} as Record<string, string>,
    run: null as RunStatus | null,
    progress: null as RunProgress | null,
    lastFinished: null as RunFinished | null,
    busy: false,
    /** How many images the next run processes (null = every image not done yet). */
    runCount: null as number | null,
  }),
  getters: {
    counts(state) {
      const counts = { pending: 0, running: 0, done: 0, error: 0 };
      for (const image of state.images) counts[image.status]++;
      return counts;
    },
    isRunning: (state) => state.run?.state === 'running' || state.run?.state === 'cancelling',
    isPaused: (state) => state.run?.state === 'paused',
    /** The open project runs on the generated shapes-world pack. */
    demo: (state) => state.project?.pack?.demo ?? false,
  },
  actions: {
    /** Subscribes to run and project events once per page. */
    subscribe(): void {
      if (subscribed) return;
      subscribed = true;
      api().onProgress((progress) => {
        this.progress = progress;
        this.run = {
          runId: progress.runId,
          state: progress.state,
          imagesDone: progress.imagesDone,
          imagesFailed: progress.imagesFailed,
          imagesTotal: progress.imagesTotal,
        };
      });
      api().onImageUpdated((image) => {
        const i = this.images.findIndex((item) => item.id === image.id);
        if (i >= 0) this.images[i] = image;
        else this.images.push(image);
        if (image.status === 'done' && !this.thumbnails[image.id]) void this.loadThumbnail(image.id);
        if (image.status === 'done') {
          emitStoreEvent('image-committed', { imageId: image.id });
          scoresTimer ??= setTimeout(() => {
            scoresTimer = null;
            void useFilterStore().load();
          }, SCORES_REFRESH_MS);
        }
      });
      api().onRunFinished((finished) => {
        this.lastFinished = finished;
        this.run = null;
        emitStoreEvent('run-finished', {});
        const app = useAppStore();
        if (finished.outcome === 'failed')
          app.notify('error', `Run failed: ${finished.error ?? 'unknown error'}`);
        else
          app.notify(
            'info',
            `Run ${finished.outcome}: ${finished.imagesDone} done, ${finished.imagesFailed} failed in ${finished.seconds.toFixed(1)} s`,
          );
        void this.refresh();
        void useFilterStore().load();
        void app.loadModels();
      });
      api().onProjectChanged((project) => {
        this.project = project;
        void this.refresh();
      });
    },
    /** Loads the current project (if the engine already has one open) and the run state. */
    async load(): Promise<void> {
      this.subscribe();
      try {
        this.project = await api().currentProject();
        this.run = await api().runStatus();
        if (this.project) await this.refresh();
      } catch (error) {
        useAppStore().notify('error', `Project: ${errorMessage(error)}`);
      }
    },
    async refresh(): Promise<void> {
      if (!this.project) {
        this.images = [];
        return;
      }
      this.images = await api().listImages();
      await Promise.all(
        this.images
          .filter((image) => image.status !== 'error' && !this.thumbnails[image.id])
          .map((image) => this.loadThumbnail(image.id)),
      );
    },
    async loadThumbnail(imageId: string): Promise<void> {
      try {
        const bytes = await api().getImage({ imageId, maxSide: THUMBNAIL_SIDE });
        this.thumbnails[imageId] = imageObjectUrl(bytes);
      } catch {
        // Unreadable images show their error instead of a thumbnail.
      }
    },
    async withBusy(label: string, work: () => Promise<void>): Promise<void> {
      this.busy = true;
      try {
        await work();
      } catch (error) {
        useAppStore().notify('error', `${label}: ${errorMessage(error)}`);
      } finally {
        this.busy = false;
      }
    },
    async openDemo(dir: string, count: number): Promise<void> {
      await this.withBusy('Open demo scenes', async () => {
        this.clearThumbnails();
        this.project = await api().openDemoProject({ dir, count });
        await this.refresh();
        await useFilterStore().load();
        void useAppStore().loadModels();
        void useSettingsStore().load();
      });
    },
    async open(dir: string): Promise<void> {
      await this.withBusy('Open project', async () => {
        this.clearThumbnails();
        this.project = await api().openProject({ dir });
        await this.refresh();
        await useFilterStore().load();
        void useAppStore().loadModels();
        void useSettingsStore().load();
      });
    },
    async create(dir: string): Promise<void> {
      await this.withBusy('Create project', async () => {
        this.clearThumbnails();
        this.project = await api().createProject({ dir });
        await this.refresh();
        void useSettingsStore().load();
      });
    },
    async addImages(folder: string): Promise<void> {
      await this.withBusy('Add images', async () => {
        const added = await api().addImageFolder({ folder });
        this.project = added.project;
        useAppStore().notify('info', `Added ${added.added} images (${added.skipped} skipped)`);
        await this.refresh();
      });
    },
    async start(force = false): Promise<void> {
      await this.withBusy('Start run', async () => {
        const pendingIds = this.images
          .filter((image) => force || image.status !== 'done')
          .map((image) => image.id);
        const imageIds = this.runCount ? pendingIds.slice(0, this.runCount) : undefined;
        this.lastFinished = null;
        this.run = await api().startRun({ imageIds, force });
      });
    },
    /** Re-captions one finished image with its current (edited) mask set: a run of that image with `force`. */
    async recaption(imageId: string): Promise<void> {
      await this.withBusy('Re-caption', async () => {
        this.lastFinished = null;
        this.run = await api().startRun({ imageIds: [imageId], force: true });
      });
    },
    async pause(): Promise<void> {
      await this.withBusy('Pause', async () => {
        this.run = await api().pauseRun();
      });
    },
    async resume(): Promise<void> {
      await this.withBusy('Resume', async () => {
        this.run = await api().resumeRun();
      });
    },
    async cancel(): Promise<void> {
      await this.withBusy('Cancel', async () => {
        this.run = await api().cancelRun();
      });
    },
    clearThumbnails(): void {
      for (const url of Object.values(this.thumbnails)) URL.revokeObjectURL(url);
      this.thumbnails = {};
    },
  },
});
