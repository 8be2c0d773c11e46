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
  /**
   * Served mode: the Redis hosts (`host` or `host:port`) a queued run may connect to. Empty or omitted = loopback
   * only (127.0.0.1, ::1, localhost), so a page cannot make the engine open connections across the network. Electron:
   * not consulted (the user types the URL into their own app).
   */
  queueHosts?: string[];
  /** Force every session onto the CPU provider. */
  forceCpu?: boolean;
}
