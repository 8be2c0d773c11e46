/**
 * Overlay colours: distinct hues per mask that stay distinguishable for common colour-vision deficiencies.
 *
 * The first eight are Okabe & Ito's colour-blind-safe palette (black swapped for a dark grey-blue so it shows on
 * dark images); after that, hues step by the golden angle so neighbours never repeat.
 */
const OKABE_ITO: [number, number, number][] = [
  [230, 159, 0],
  [86, 180, 233],
  [0, 158, 115],
  [240, 228, 66],
  [0, 114, 178],
  [213, 94, 0],
  [204, 121, 167],
  [120, 140, 170],
];

/** The overlay colour of the mask at `index` in the image's mask list, as RGB bytes. */
export function maskColour(index: number): [number, number, number] {
  if (index < OKABE_ITO.length) return OKABE_ITO[index];
  const hue = (index * 137.508) % 360;
  return hslToRgb(hue, 0.65, 0.55);
}

/** The overlay colour as a CSS `rgb()` string. */
export function maskCss(index: number): string {
  const [r, g, b] = maskColour(index);
  return `rgb(${r} ${g} ${b})`;
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] =
    h < 60
      ? [c, x, 0]
      : h < 120
        ? [x, c, 0]
        : h < 180
          ? [0, c, x]
          : h < 240
            ? [0, x, c]
            : h < 300
              ? [x, 0, c]
              : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}
