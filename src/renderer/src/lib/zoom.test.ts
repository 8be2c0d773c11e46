import { describe, expect, it } from 'vitest';
import { FIT, MAX_SCALE, panBy, wheelFactor, zoomAt } from './zoom.ts';

const stage = { width: 800, height: 600 };

describe('mask canvas zoom and pan', () => {
  it('keeps the point under the cursor fixed while zooming in', () => {
    const view = zoomAt(FIT, 2, { x: 200, y: 150 }, stage);
    expect(view).toEqual({ scale: 2, x: -200, y: -150 });
    // stage point (200, 150) is drawn at offset + scale · point = (200, 150) again
    expect(view.x + view.scale * 200).toBe(200);
  });

  it('never zooms out past the fitted image nor in past the limit', () => {
    expect(zoomAt(FIT, 0.5, { x: 10, y: 10 }, stage)).toEqual(FIT);
    expect(zoomAt({ scale: 30, x: 0, y: 0 }, 4, { x: 0, y: 0 }, stage).scale).toBe(MAX_SCALE);
  });

  it('pans within the image: no empty band beside it', () => {
    const zoomed = { scale: 2, x: -200, y: -150 };
    expect(panBy(zoomed, { x: 50, y: -30 }, stage)).toEqual({ scale: 2, x: -150, y: -180 });
    expect(panBy(zoomed, { x: 900, y: 900 }, stage)).toEqual({ scale: 2, x: 0, y: 0 });
    expect(panBy(zoomed, { x: -900, y: -900 }, stage)).toEqual({ scale: 2, x: -800, y: -600 });
    expect(panBy(FIT, { x: 40, y: 40 }, stage)).toEqual(FIT);
  });

  it('zooms in on wheel up and out on wheel down, by about 10 % a notch', () => {
    expect(wheelFactor(-100)).toBeGreaterThan(1.1);
    expect(wheelFactor(-100)).toBeLessThan(1.12);
    expect(wheelFactor(100)).toBeLessThan(1);
    expect(wheelFactor(0)).toBe(1);
  });

  it('refuses a factor that is not positive', () => {
    expect(() => zoomAt(FIT, 0, { x: 0, y: 0 }, stage)).toThrow('zoomAt: factor must be > 0, got 0');
  });
});
