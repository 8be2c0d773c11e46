/**
 * The visual features shared by the demo captioner and the demo scorer: attribute probabilities from pixels.
 *
 * One ONNX subgraph turns an OpenAI-normalized crop float32[B,3,224,224] into probabilities over the shapes world's
 * colours, shapes and patterns (DESIGN.md §6), plus the raw measurements they come from:
 * - colour: the crop is de-normalized and halved to 112×112; each pixel's chroma (RGB minus its grey level) is
 *   compared by cosine with each colour's chroma direction (a pattern's darker shade has the same direction), softly
 *   assigned, gated by saturation (backgrounds and the reference fill are near-grey) and weighted toward the centre
 *   (box crops carry context and slivers of other objects); the normalized histogram is the colour distribution;
 * - shape: the region of the dominant colour is binarized; its row and column occupancy give the extent of the
 *   contiguous run through the region's weighted centre (dropping slivers of other same-coloured objects across a
 *   gap); the fill ratio area/(height·width) is ≈ π/4 for a circle, ≈ 1 for a square, ≈ 1/2 for a triangle;
 * - pattern: inside the eroded region, the log-value gradient's structure tensor: its energy separates plain from
 *   patterned, its coherence (one dominant orientation) separates stripes from dots.
 */
import { attr, type GraphBuilder } from './onnx-builder.ts';
import { COLOUR_RGB, COLOURS, PATTERNS, SHAPES } from './world.ts';

/** OpenAI CLIP mean/std (the crops' normalization; research/contracts.md §2.1). */
export const OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const OPENAI_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** Side of the crops the demo graphs take. */
export const CROP_SIZE = 224;
/** Working resolution of the feature maps (2×2 average pooling of the crop). */
const WORK = 112;

/** Number of attribute features: colours, then shapes, then patterns. */
export const ATTRIBUTE_COUNT = COLOURS.length + SHAPES.length + PATTERNS.length;
/** Index of each attribute's probability in the feature vector. */
export const ATTRIBUTE_INDEX: Record<string, number> = Object.fromEntries(
  [...COLOURS, ...SHAPES, ...PATTERNS].map((name, i) => [name, i]),
);
/** Number of raw measurements returned beside the probabilities. */
export const MEASUREMENT_COUNT = 8;

/** Tuning constants of the feature subgraph, named so the README and tests can cite them. */
export const FEATURE_CONSTANTS = {
  /** Saturation (max − min of RGB, 0–1) where the object gate is ½; objects ≥ 0.247, backgrounds ≤ 0.07, fill 0.09. */
  saturationThreshold: 0.16,
  saturationSlope: 60,
  /** Sharpness of the soft colour assignment on chroma cosines. */
  colourSharpness: 80,
  /** σ of the centre weighting, as a fraction of the crop side. */
  centreSigma: 0.3,
  /** Expected fill ratios of circle, square, triangle and the width of their likelihoods. */
  fill: { circle: Math.PI / 4, square: 0.97, triangle: 0.5, sigma: 0.06 },
  /** Mean squared log-value difference (per pixel of offset) inside the region above which an object is patterned. */
  patternEnergy: 0.001,
  /** Anisotropy of the directional differences above which the pattern counts as stripes. */
  stripeCoherence: 0.5,
} as const;

/** Names of the values the feature subgraph adds to a graph. */
export interface AttributeFeatures {
  /** float32[B, 12]: colour (6), shape (3), pattern (3) probabilities; each group sums to ≤ 1. */
  probabilities: string;
  /** float32[B, 6]: colour probabilities alone. */
  colour: string;
  /** float32[B, 3]. */
  shape: string;
  /** float32[B, 3]. */
  pattern: string;
  /** float32[B, 8]: fill ratio, texture energy, coherence, region area share, run height, run width, saturated mass, colour confidence. */
  measurements: string;
}

/**
 * Adds the attribute-feature subgraph to `g`, reading the normalized crop `image` float32[B,3,224,224].
 */
export function addAttributeFeatures(g: GraphBuilder, image: string): AttributeFeatures {
  const k = FEATURE_CONSTANTS;
  // in: image float32[B,3,224,224] (OpenAI-normalized) → rgb on the 0–1 scale, 112×112.
  const full = g.op('Add', [
    g.op('Mul', [image, g.floats(OPENAI_STD, [1, 3, 1, 1])]),
    g.floats(OPENAI_MEAN, [1, 3, 1, 1]),
  ]);
  const rgb = g.op('AveragePool', [full], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });

  // Colour: chroma cosines with each colour's chroma direction, gated by saturation, weighted to the centre.
  const grey = g.op('ReduceMean', [rgb], { axes: attr.ints([1]), keepdims: attr.int(1) });
  const chroma = g.op('Sub', [rgb, grey]);
  const saturation = g.op('Sub', [
    g.op('ReduceMax', [rgb], { axes: attr.ints([1]), keepdims: attr.int(1) }),
    g.op('ReduceMin', [rgb], { axes: attr.ints([1]), keepdims: attr.int(1) }),
  ]);
  const chromaNorm = g.op('Sqrt', [
    g.op('Add', [
      g.op('ReduceSumSquare', [chroma], { axes: attr.ints([1]), keepdims: attr.int(1) }),
      g.floats([1e-6], [1]),
    ]),
  ]);
  const cosines = g.op('Div', [
    g.op('Conv', [chroma, g.floats(colourDirections(), [COLOURS.length, 3, 1, 1])]),
    chromaNorm,
  ]);
  const assign = g.op('Softmax', [g.op('Mul', [cosines, g.floats([k.colourSharpness], [1])])], {
    axis: attr.int(1),
  });
  const gate = g.op('Sigmoid', [
    g.op('Mul', [
      g.op('Sub', [saturation, g.floats([k.saturationThreshold], [1])]),
      g.floats([k.saturationSlope], [1]),
    ]),
  ]);
  const centre = g.floats(centreWeights(), [1, 1, WORK, WORK]);
  const weighted = g.op('Mul', [g.op('Mul', [assign, gate]), centre]);
  const histogram = g.op('ReduceSum', [weighted, g.ints([2, 3])], { keepdims: attr.int(0) }); // [B,6]
  const mass = g.op('ReduceSum', [histogram, g.ints([1])], { keepdims: attr.int(1) }); // [B,1]
  // +2: a crop with no saturated pixels (background only) gets no colour rather than noise amplified to 1.
  const colour = g.op('Div', [histogram, g.op('Add', [mass, g.floats([2], [1])])]);

  // The dominant colour's region, binarized.
  const dominant = g.op('Softmax', [g.op('Mul', [colour, g.floats([30], [1])])], { axis: attr.int(1) });
  const dominant4 = g.op('Unsqueeze', [dominant, g.ints([2, 3])]);
  const regionSoft = g.op('Mul', [
    gate,
    g.op('ReduceSum', [g.op('Mul', [assign, dominant4]), g.ints([1])], { keepdims: attr.int(1) }),
  ]);
  const region = g.op('Cast', [g.op('Greater', [regionSoft, g.floats([0.5], [1])])], { to: attr.int(1) }); // [B,1,H,W]

  // Extent: the contiguous run of occupied rows (columns) through the centre-weighted centroid.
  const rows = contiguousRun(g, region, 3, g.op('Mul', [region, centre]));
  const columns = contiguousRun(g, region, 2, g.op('Mul', [region, centre]));
  const inRun = g.op('Mul', [g.op('Mul', [region, rows.mask]), columns.mask]);
  const area = g.op('ReduceSum', [inRun, g.ints([1, 2, 3])], { keepdims: attr.int(0) }); // [B]
  const boxArea = g.op('Add', [g.op('Mul', [rows.length, columns.length]), g.floats([1], [1])]);
  const fill = g.op('Div', [area, boxArea]); // [B]
  const fill1 = g.op('Unsqueeze', [fill, g.ints([1])]); // [B,1]
  const fillCentres = g.floats([k.fill.circle, k.fill.square, k.fill.triangle], [1, 3]);
  const fillDistance = g.op('Div', [g.op('Sub', [fill1, fillCentres]), g.floats([k.fill.sigma], [1])]);
  // A crop without an object region (background only) gets no shape and no pattern rather than a guess.
  const presence = g.op('Unsqueeze', [
    g.op('Sigmoid', [
      g.op('Mul', [
        g.op('Sub', [g.op('Div', [area, g.floats([WORK * WORK], [1])]), g.floats([0.02], [1])]),
        g.floats([300], [1]),
      ]),
    ]),
    g.ints([1]),
  ]); // [B,1]
  const shape = g.op('Mul', [
    g.op('Softmax', [g.op('Neg', [g.op('Mul', [fillDistance, fillDistance])])], { axis: attr.int(1) }),
    presence,
  ]);

  // Pattern: directional differences of log value inside the eroded region.
  // Erosion by 3 px, counting outside the crop as outside the region (a square's masked crop fills the whole crop,
  // and the difference kernels' zero padding must not reach the interior).
  const outside = g.op(
    'Pad',
    [g.op('Sub', [g.floats([1], [1]), inRun]), g.ints([0, 0, 3, 3, 0, 0, 3, 3]), g.floats([1], [])],
    {
      mode: attr.string('constant'),
    },
  );
  const interior = g.op('Sub', [
    g.floats([1], [1]),
    g.op('MaxPool', [outside], { kernel_shape: attr.ints([7, 7]) }),
  ]);
  const value = g.op('ReduceMax', [rgb], { axes: attr.ints([1]), keepdims: attr.int(1) });
  // A 3×3 blur first: diagonal stripes of small objects are pixel staircases magnified by the crop's resize.
  const logValue = g.op('AveragePool', [g.op('Log', [g.op('Add', [value, g.floats([0.05], [1])])])], {
    kernel_shape: attr.ints([3, 3]),
    pads: attr.ints([1, 1, 1, 1]),
    count_include_pad: attr.int(0),
  });
  // Squared differences at offsets (2,0), (0,2), (2,2), (2,−2), per unit of offset length: stripes have one direction
  // with almost no change (along the stripes, also for the pixel staircases of diagonal stripes), dots none.
  const differences = g.op('Conv', [logValue, g.floats(offsetKernels(), [4, 1, 5, 5])], {
    pads: attr.ints([2, 2, 2, 2]),
  });
  const count = g.op('Add', [
    g.op('ReduceSum', [interior, g.ints([1, 2, 3])], { keepdims: attr.int(0) }),
    g.floats([1], [1]),
  ]); // [B]
  const directional = g.op('Div', [
    g.op('Mul', [
      g.op('ReduceSum', [g.op('Mul', [g.op('Mul', [differences, differences]), interior]), g.ints([2, 3])], {
        keepdims: attr.int(0),
      }),
      g.floats([1 / 2, 1 / 2, 1 / (2 * Math.SQRT2), 1 / (2 * Math.SQRT2)], [1, 4]),
    ]),
    g.op('Unsqueeze', [count, g.ints([1])]),
  ]); // [B,4]
  const strongest = g.op('ReduceMax', [directional], { axes: attr.ints([1]), keepdims: attr.int(0) });
  const weakest = g.op('ReduceMin', [directional], { axes: attr.ints([1]), keepdims: attr.int(0) });
  const energy = g.op('ReduceMean', [directional], { axes: attr.ints([1]), keepdims: attr.int(0) }); // [B]
  // Anisotropy ("coherence"): 1 when one direction is flat (stripes), near 0 when all are alike (dots).
  const coherence = g.op('Div', [
    g.op('Sub', [strongest, weakest]),
    g.op('Add', [g.op('Add', [strongest, weakest]), g.floats([1e-6], [1])]),
  ]);
  const patterned = g.op('Sigmoid', [
    g.op('Mul', [
      g.op('Sub', [
        g.op('Log', [g.op('Add', [energy, g.floats([1e-5], [1])])]),
        g.floats([Math.log(k.patternEnergy)], [1]),
      ]),
      g.floats([4], [1]),
    ]),
  ]);
  const striped = g.op('Mul', [
    patterned,
    g.op('Sigmoid', [
      g.op('Mul', [g.op('Sub', [coherence, g.floats([k.stripeCoherence], [1])]), g.floats([15], [1])]),
    ]),
  ]);
  const dotted = g.op('Sub', [patterned, striped]);
  const plain = g.op('Sub', [g.floats([1], [1]), patterned]);
  // Order as PATTERNS: plain, striped, dotted.
  const pattern = g.op('Mul', [
    g.op(
      'Concat',
      [plain, striped, dotted].map((v) => g.op('Unsqueeze', [v, g.ints([1])])),
      { axis: attr.int(1) },
    ),
    presence,
  ]);

  const probabilities = g.op('Concat', [colour, shape, pattern], { axis: attr.int(1) });
  const pixels = WORK * WORK;
  const measurements = g.op(
    'Concat',
    [
      fill,
      energy,
      coherence,
      g.op('Div', [area, g.floats([pixels], [1])]),
      g.op('Div', [rows.length, g.floats([WORK], [1])]),
      g.op('Div', [columns.length, g.floats([WORK], [1])]),
      g.op('Div', [g.op('Squeeze', [mass, g.ints([1])]), g.floats([pixels], [1])]),
      g.op('ReduceMax', [colour], { axes: attr.ints([1]), keepdims: attr.int(0) }),
    ].map((v) => g.op('Unsqueeze', [v, g.ints([1])])),
    { axis: attr.int(1) },
  );
  return { probabilities, colour, shape, pattern, measurements };
}

/** Unit chroma directions of the world's colours, [6,3] row-major (a shade c·0.55 has the same direction). */
export function colourDirections(): number[] {
  const out: number[] = [];
  for (const name of COLOURS) {
    const [r, g, b] = COLOUR_RGB[name];
    const grey = (r + g + b) / 3;
    const c = [r - grey, g - grey, b - grey];
    const norm = Math.hypot(c[0], c[1], c[2]);
    out.push(...c.map((v) => v / norm));
  }
  return out;
}

/** Four 5×5 kernels L(p + offset) − L(p) for offsets (dx, dy) = (2,0), (0,2), (2,2), (2,−2), [4,1,5,5] row-major. */
function offsetKernels(): number[] {
  const offsets = [
    [2, 0],
    [0, 2],
    [2, 2],
    [2, -2],
  ];
  const out: number[] = [];
  for (const [dx, dy] of offsets) {
    const kernel = new Array<number>(25).fill(0);
    kernel[2 * 5 + 2] = -1;
    kernel[(2 + dy) * 5 + (2 + dx)] = 1;
    out.push(...kernel);
  }
  return out;
}

/** Gaussian centre weights on the WORK×WORK grid, row-major. */
function centreWeights(): number[] {
  const sigma = FEATURE_CONSTANTS.centreSigma * WORK;
  const out: number[] = [];
  const c = (WORK - 1) / 2;
  for (let y = 0; y < WORK; y++) {
    for (let x = 0; x < WORK; x++) out.push(Math.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * sigma * sigma)));
  }
  return out;
}

/**
 * The contiguous run of occupied rows (reduceAxis 3) or columns (reduceAxis 2) through the weighted centroid.
 *
 * Occupied = more than 1.5 region pixels on the line. Gaps are counted with CumSum over (1 − occupied); the run is
 * the occupied lines whose gap count equals the centroid line's. Returns the run as a broadcastable 0/1 mask
 * ([B,1,H,1] or [B,1,1,W]) and its length [B].
 */
function contiguousRun(
  g: GraphBuilder,
  region: string,
  reduceAxis: 2 | 3,
  weights: string,
): { mask: string; length: string } {
  const lineAxis = reduceAxis === 3 ? 2 : 3;
  const profile = g.op('ReduceSum', [region, g.ints([reduceAxis])], { keepdims: attr.int(1) });
  const occupied = g.op('Cast', [g.op('Greater', [profile, g.floats([1.5], [1])])], { to: attr.int(1) });
  const gaps = g.op('CumSum', [g.op('Sub', [g.floats([1], [1]), occupied]), g.ints([lineAxis], [])]);
  // Weighted centroid line index.
  const positions = Array.from({ length: WORK }, (_, i) => i);
  const positionDims = reduceAxis === 3 ? [1, 1, WORK, 1] : [1, 1, 1, WORK];
  const weightProfile = g.op('ReduceSum', [weights, g.ints([reduceAxis])], { keepdims: attr.int(1) });
  const weightTotal = g.op('Add', [
    g.op('ReduceSum', [weightProfile, g.ints([2, 3])], { keepdims: attr.int(1) }),
    g.floats([1e-6], [1]),
  ]);
  const centroid = g.op('Div', [
    g.op('ReduceSum', [g.op('Mul', [weightProfile, g.floats(positions, positionDims)]), g.ints([2, 3])], {
      keepdims: attr.int(1),
    }),
    weightTotal,
  ]); // [B,1,1,1]
  // Gap count at the centroid line: sum over lines of gaps · [line == round(centroid)].
  const atCentroid = g.op(
    'Cast',
    [
      g.op('Less', [
        g.op('Abs', [g.op('Sub', [g.floats(positions, positionDims), centroid])]),
        g.floats([0.5], [1]),
      ]),
    ],
    { to: attr.int(1) },
  );
  const gapAtCentroid = g.op('ReduceSum', [g.op('Mul', [gaps, atCentroid]), g.ints([2, 3])], {
    keepdims: attr.int(1),
  });
  const sameRun = g.op(
    'Cast',
    [g.op('Less', [g.op('Abs', [g.op('Sub', [gaps, gapAtCentroid])]), g.floats([0.5], [1])])],
    { to: attr.int(1) },
  );
  const mask = g.op('Mul', [sameRun, occupied]);
  const length = g.op('ReduceSum', [mask, g.ints([1, 2, 3])], { keepdims: attr.int(0) });
  return { mask, length };
}
