/**
 * Stable `data-testid` values the end-to-end tests drive. Keep the strings stable: e2e page objects (outside the
 * renderer) spell the same names.
 *
 * | id                  | element                                                                |
 * |---------------------|------------------------------------------------------------------------|
 * | nav-<view>          | left navigation button per view (gallery, workspace, candidates,       |
 * |                     | inspector, parameters, report, models)                                 |
 * | view-<view>         | the root element of each view                                          |
 * | demo-badge          | "Demo models — shapes world, not real models" badge                   |
 * | connection-status   | connection state (data-state = connecting / open / closed)             |
 * | open-demo           | gallery: open the demo scenes                                          |
 * | open-folder         | gallery: open an image folder (path input `folder-path` + this button) |
 * | folder-path         | gallery: folder path input                                             |
 * | gallery-item        | one thumbnail (data-image-id, data-status = pending/running/done/failed)|
 * | gallery-scroller    | the gallery's scroll box (data-total: images matching the filter;      |
 * |                     | data-rendered: tiles rendered now — only the rows in view;             |
 * |                     | data-query: filter|order of the loaded pages; data-loading)            |
 * | image-error         | per-image error text inside a failed gallery item                      |
 * | run-count           | gallery: how many images to run (number input; empty = all)           |
 * | run-start           | start a run                                                            |
 * | run-pause / run-resume / run-cancel | run controls                                           |
 * | run-progress        | progress bar (data-done, data-total, data-state)                       |
 * | run-queue           | top bar: a queued run's queue (data-coordinator = here / elsewhere,    |
 * |                     | data-waiting, data-workers, data-done, data-failed)                    |
 * | queue-url / queue-name / run-queued | gallery: Redis URL and queue name inputs, and the button |
 * |                     | running the images not done yet through that queue                     |
 * | mask-overlay        | workspace canvas with the mask overlays (data-mask-count)              |
 * | prompt-mode-<m>     | workspace prompt mode buttons: select, point, box                      |
 * | prompt-add          | add the mask predicted from the current prompts                        |
 * | prompt-clear        | clear the prompts                                                      |
 * | mask-row            | one row of the mask list (data-mask-index)                             |
 * | mask-delete         | delete the selected mask                                               |
 * | recaption           | workspace: re-caption the image with its current masks (data-state =   |
 * |                     | captioned / edited / running); mask rows carry data-source, data-candidates |
 * | open-candidates     | open the selected mask's candidates                                    |
 * | candidate-row       | one candidates-table row (data-candidate-index, data-kept)             |
 * | candidate-accept / candidate-reject / candidate-edit | per-row review buttons                |
 * | kept-count          | candidates view: the mask's kept count at the current τ (data-kept, data-total) |
 * | project-kept-count  | top bar: project-wide kept count at the current τ (data-kept, data-total) |
 * | tau-slider          | the τ range input                                                      |
 * | tau-value           | the τ number input                                                     |
 * | open-inspector      | open the inspector for a candidate (one per candidates row)           |
 * | inspector-step      | one step button of the inspector's token strip (data-step)            |
 * | inspector-chart     | each inspector chart (data-chart = target/other-<j>/aggregate/calibrated/final) |
 * | inspector-divergence| the first-divergence marker of the naive-vs-DCS comparison            |
 * | rerun-crop          | inspector: re-run one crop with the form's k/p/temperature/seed        |
 * | inspector-heatmap   | inspector: the whole-caption heatmap (data-panels, data-steps); inside |
 * |                     | heatmap-panel (data-label naive/DCS), heatmap-row (data-step),         |
 * |                     | heatmap-cell (data-token, data-p, data-chosen yes/no), heatmap-legend  |
 * | inspector-beam      | inspector: the beam view (data-groups, data-group-size, data-steps);   |
 * |                     | beam-step rows (data-step), beam-cell (data-group, data-beam, data-    |
 * |                     | score, data-normalized, data-winner-path), beam-hypothesis rows        |
 * |                     | (data-step, data-score, data-winner), beam-winner (data-score,         |
 * |                     | data-stored-score, data-text), beam-tie (why the winner won a tie:     |
 * |                     | data-tied hypothesis indices, data-identical-groups)                   |
 * | preset-default / preset-reference | parameters panel presets                                 |
 * | settings-save       | parameters panel: save settings                                        |
 * | report-chart        | report charts (data-chart = dos-histogram / kept-vs-tau;               |
 * |                     | data-state = loading / ready / empty: wait for ready, the report takes s) |
 * | export-open         | opens the export dialog                                                |
 * | export-format-<f>   | export dialog: one checkbox per format (refcoco, cris, csv, jsonl, masks, repro) |
 * | export-destination  | destination folder input                                               |
 * | export-button       | runs the export                                                        |
 * | export-files        | list of written files (one `export-file` per file)                     |
 * | project-notes       | what opening the project found (read-only folder, skipped line, rebuilt index) |
 * | models-pack         | one pack in the models panel (data-pack, data-valid)                   |
 * | provider-row        | one role's provider row                                                |
 * | run-strip / run-stage | the line under the top bar / the run's in-image stage in it (run-queue too) |
 * | canvas-stage        | mask canvas zoom box (data-zoom); canvas-zoom (its transform), canvas-fit |
 * | filter-search       | candidates: caption search box; filter-empty when nothing matches     |
 * | compare-pick / compare-dialog / compare-column / compare-scores | side-by-side comparison     |
 * | inspector-save-trace / -heatmap-json / -heatmap-png | inspector downloads                      |
 * | report-clipped      | report: the DoS axis is clipped (the last bin holds every DoS ≥ its edge) |
 * | inspector-chart     | also data-axis-floor / -ceiling / -ticks and data-clipped-floor ("≤ −5") |
 */
export const TESTID = {
  demoBadge: 'demo-badge',
  connectionStatus: 'connection-status',
  openDemo: 'open-demo',
  openFolder: 'open-folder',
  folderPath: 'folder-path',
  galleryItem: 'gallery-item',
  galleryScroller: 'gallery-scroller',
  imageError: 'image-error',
  projectNotes: 'project-notes',
  runCount: 'run-count',
  runStart: 'run-start',
  runPause: 'run-pause',
  runResume: 'run-resume',
  runCancel: 'run-cancel',
  runProgress: 'run-progress',
  runQueue: 'run-queue',
  queueUrl: 'queue-url',
  queueName: 'queue-name',
  runQueued: 'run-queued',
  maskOverlay: 'mask-overlay',
  promptAdd: 'prompt-add',
  promptClear: 'prompt-clear',
  maskRow: 'mask-row',
  maskDelete: 'mask-delete',
  recaption: 'recaption',
  openCandidates: 'open-candidates',
  candidateRow: 'candidate-row',
  candidateAccept: 'candidate-accept',
  candidateReject: 'candidate-reject',
  candidateEdit: 'candidate-edit',
  keptCount: 'kept-count',
  projectKeptCount: 'project-kept-count',
  tauSlider: 'tau-slider',
  tauValue: 'tau-value',
  openInspector: 'open-inspector',
  inspectorStep: 'inspector-step',
  inspectorChart: 'inspector-chart',
  inspectorDivergence: 'inspector-divergence',
  rerunCrop: 'rerun-crop',
  inspectorHeatmap: 'inspector-heatmap',
  heatmapPanel: 'heatmap-panel',
  heatmapRow: 'heatmap-row',
  heatmapCell: 'heatmap-cell',
  heatmapLegend: 'heatmap-legend',
  inspectorBeam: 'inspector-beam',
  beamStep: 'beam-step',
  beamCell: 'beam-cell',
  beamHypothesis: 'beam-hypothesis',
  beamWinner: 'beam-winner',
  beamTie: 'beam-tie',
  presetDefault: 'preset-default',
  presetReference: 'preset-reference',
  settingsSave: 'settings-save',
  reportChart: 'report-chart',
  exportOpen: 'export-open',
  exportDestination: 'export-destination',
  exportButton: 'export-button',
  exportFiles: 'export-files',
  exportFile: 'export-file',
  modelsPack: 'models-pack',
  providerRow: 'provider-row',
} as const;

/** `nav-<view>` and `view-<view>` ids. */
export const navTestId = (view: string): string => `nav-${view}`;
export const viewTestId = (view: string): string => `view-${view}`;
export const exportFormatTestId = (format: string): string => `export-format-${format}`;
export const promptModeTestId = (mode: string): string => `prompt-mode-${mode}`;
