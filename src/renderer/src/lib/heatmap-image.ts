/**
 * The whole-caption heatmap as an image: boxes and texts laid out from the heatmap model (pure, tested without a
 * DOM), then painted on a canvas. Cells are as wide as the longest token needs, so the saved PNG never cuts one.
 */
import { darkText, heatColour, type Heatmap } from './heatmap.ts';

/** One box of the image: a filled rectangle with optional centred text. */
export interface HeatBox {
  x: number;
  y: number;
  width: number;
  height: number;
  fill: string | null;
  text: string;
  textColour: string;
  outline: string | null;
}

/** Pixel sizes of the image (monospace text: width per character). */
const CELL_HEIGHT = 20;
const CHAR_WIDTH = 7;
const PAD = 8;
const STEP_COLUMN = 28;

/** The image's size and boxes: per panel a title line, then one row per step (step number, then its cells). */
export function heatmapLayout(map: Heatmap): { width: number; height: number; boxes: HeatBox[] } {
  const labels = map.panels.flatMap((panel) =>
    panel.rows.flatMap((row) => row?.cells.map((c) => c.label) ?? []),
  );
  const cellWidth = Math.max(48, ...labels.map((label) => label.length * CHAR_WIDTH + 8));
  const panelWidth = STEP_COLUMN + map.width * (cellWidth + 1);
  const boxes: HeatBox[] = [];
  const text = (x: number, y: number, width: number, value: string, colour = '#c9d1dd'): HeatBox => ({
    x,
    y,
    width,
    height: CELL_HEIGHT,
    fill: null,
    text: value,
    textColour: colour,
    outline: null,
  });
  map.panels.forEach((panel, p) => {
    const left = PAD + p * (panelWidth + PAD);
    boxes.push(text(left, PAD, panelWidth, `${panel.label}: “${panel.text}”`));
    panel.rows.forEach((row, s) => {
      const top = PAD + (s + 1) * (CELL_HEIGHT + 1);
      boxes.push(text(left, top, STEP_COLUMN - 4, String(s), '#9aa3b2'));
      if (!row) {
        boxes.push(text(left + STEP_COLUMN, top, cellWidth, 'ended', '#9aa3b2'));
        return;
      }
      row.cells.forEach((cell, c) => {
        boxes.push({
          x: left + STEP_COLUMN + c * (cellWidth + 1),
          y: top,
          width: cellWidth,
          height: CELL_HEIGHT,
          fill: cell.p === null ? '#2a2f39' : heatColour(cell.p),
          text: cell.label,
          textColour: cell.p !== null && darkText(cell.p) ? '#111111' : '#f2f4f8',
          outline: cell.chosen ? '#ff6b3d' : null,
        });
      });
    });
  });
  const rows = Math.max(0, ...map.panels.map((panel) => panel.rows.length));
  return {
    width: PAD + map.panels.length * (panelWidth + PAD),
    height: PAD * 2 + (rows + 1) * (CELL_HEIGHT + 1),
    boxes,
  };
}

/** Paints the heatmap on a new canvas (dark background, as the page shows it) and answers it as PNG bytes. */
export async function heatmapPng(map: Heatmap): Promise<Blob> {
  const layout = heatmapLayout(map);
  const canvas = document.createElement('canvas');
  canvas.width = layout.width;
  canvas.height = layout.height;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('heatmapPng: no 2D canvas context');
  context.fillStyle = '#161a21';
  context.fillRect(0, 0, layout.width, layout.height);
  context.font = '11px monospace';
  context.textBaseline = 'middle';
  for (const box of layout.boxes) {
    if (box.fill) {
      context.fillStyle = box.fill;
      context.fillRect(box.x, box.y, box.width, box.height);
    }
    if (box.outline) {
      context.strokeStyle = box.outline;
      context.lineWidth = 2;
      context.strokeRect(box.x + 1, box.y + 1, box.width - 2, box.height - 2);
    }
    context.fillStyle = box.textColour;
    context.fillText(box.text, box.x + 4, box.y + box.height / 2);
  }
  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('heatmapPng: encoding failed'))),
      'image/png',
    ),
  );
}
