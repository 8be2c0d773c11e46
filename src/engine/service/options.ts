/** How an engine facade is configured by its adapter (served mode or Electron). Plain data: it crosses into the host. */
export interface EngineServiceOptions {
  mode: 'served' | 'electron';
  /** Application version shown in the UI. */
  version: string;
  /** Extra model-pack folders beyond the runtime's own roots (e.g. `process.resourcesPath/models`, user folders). */
  packDirs: string[];
  /**
   * Served mode: projects, image folders and export destinations must lie under one of these (real paths checked).
   * Empty = no limit (Electron, where the user picks folders with native dialogs).
   */
  allowedRoots: string[];
  /** Suggested folder for new projects. */
  defaultProjectDir: string;
  /**
   * Settings for new projects (a partial settings object over the paper defaults), e.g. reduced settings for a
   * quick demo; omitted = the paper defaults.
   */
  defaultSettings?: Record<string, unknown>;
  /** Force every session onto the CPU provider. */
  forceCpu?: boolean;
}
