import { describe, expect, it } from 'vitest';
import type { Heatmap } from './heatmap.ts';
import { heatmapLayout } from './heatmap-image.ts';
import { saveJson, saveName } from './save.ts';

const map: Heatmap = {
  panels: [
    {
      label: 'DCS',
      text: 'a picture',
      rows: [
        {
          step: 0,
          forced: false,
          cells: [
            { id: 1, label: 'a·', p: 0.9, chosen: true },
            { id: 2, label: 'picture·', p: 0.1, chosen: false },
          ],
        },
        null,
      ],
    },
  ],
  columns: [[1, 2], []],
  width: 2,
};

describe('the heatmap image', () => {
  it('makes cells wide enough for the longest token, so none is cut', () => {
    const layout = heatmapLayout(map);
    const cells = layout.boxes.filter((box) => box.fill !== null);
    expect(cells.map((c) => c.text)).toEqual(['a·', 'picture·']);
    for (const cell of cells) expect(cell.width).toBeGreaterThanOrEqual(cell.text.length * 7 + 8);
    expect(layout.width).toBeGreaterThanOrEqual(cells[1]!.x + cells[1]!.width);
  });

  it('outlines the chosen token, uses dark text on bright cells and marks an ended row', () => {
    const layout = heatmapLayout(map);
    const [chosen, other] = layout.boxes.filter((box) => box.fill !== null);
    expect(chosen!.outline).toBe('#ff6b3d');
    expect(chosen!.textColour).toBe('#111111');
    expect(other!.outline).toBeNull();
    expect(layout.boxes.some((box) => box.text === 'ended')).toBe(true);
    expect(layout.boxes[0]!.text).toBe('DCS: “a picture”');
  });
});

describe('saved file names and JSON', () => {
  it('keeps names to safe characters', () => {
    expect(saveName(['trace', 'dcs top-k 5', 'a/b:c'], 'json')).toBe('trace-dcs-top-k-5-a-b-c.json');
    expect(saveName(['', '///'], '.png')).toBe('file.png');
  });

  it('records what a saved JSON file is', () => {
    expect(JSON.parse(saveJson('heatmap', { width: 2 }))).toEqual({
      kind: 'heatmap',
      savedBy: 'pseudo-ris-studio',
      width: 2,
    });
  });
});
