/**
 * The demo segmenter: two hand-built ONNX graphs with the contract of the official SAM export (DESIGN.md §4,
 * research/contracts.md §1.1–1.2), computing masks from pixels of shapes-world images.
 *
 * Encoder (`image` float32[1,3,1024,1024], SAM-normalized, zero-padded → `image_embeddings` float32[1,144,64,64]):
 * undo the normalization, classify every pixel by its chromaticity rgb/(r+g+b) to the nearest of the world's six
 * colours or neutral grey (stripes and dots are the object's own colour darkened, so they share its chromaticity),
 * mark the zero padding as its own class, average the one-hot classes over 4×4 blocks (class fractions at 256×256),
 * label the connected components of each cell's dominant class by max-label propagation (a `Loop` of 3×3 MaxPool
 * masked by the class), and pack the 9 feature planes (8 fractions + label) into 64×64 with SpaceToDepth(4).
 *
 * Decoder (the six official inputs → `masks` [1,4,H,W], `iou_predictions` [1,4], `low_res_masks` [1,4,256,256]):
 * unpack with DepthToSpace; each foreground point selects the component under it; its logits are the fraction of
 * the point's class, 32·(f − ½) clipped to ±8, on the component and a one-cell ring around it (so the zero crossing
 * after bilinear upsampling falls where the object covers half a cell: sub-cell accurate edges), −8 elsewhere.
 * Background points remove their component the same way; boxes (labels 2/3) clip to the box and, without a
 * foreground point, prompt the component at the box centre; `mask_input` (when `has_mask_input` = 1) is united with
 * the foreground. The four outputs: 0 the mask, 1 the mask eroded by one cell, 2 the mask, 3 the mask dilated by one
 * cell (nested hypotheses). Predicted IoU 0.96 for the mask (−0.1 eroded, −0.15 dilated), minus 0.6 when the mask
 * touches the image border (backgrounds do, objects never do in the shapes world) and 0.4 when it is under 12 cells.
 * Post-processing as the official graph: bilinear upsample to 1024, crop to the pre-padding size
 * floor(orig·1024/max(orig) + 0.5), bilinear resize to `orig_im_size`.
 */
import { GraphBuilder, attr } from './onnx-builder.ts';
import { COLOURS, COLOUR_RGB } from './world.ts';

/** Bumped whenever the segmenter graphs change (part of the pack's build id). */
export const SEGMENTER_VERSION = 3;

/** Feature planes per 256×256 cell: 8 class fractions (6 colours, neutral, padding) + component label. */
const CLASSES = COLOURS.length + 2;
const FEATURES = CLASSES + 1;
/** Embedding channels: SpaceToDepth(4) packs 16 cells per 64×64 position. */
export const DEMO_EMBEDDING_CHANNELS = FEATURES * 16;
const GRID = 256;
const CELLS = GRID * GRID;
/** Logit slope per unit of class fraction and its clip: ±8 keeps SAM's stability score ≈ 1 on clean objects. */
const SLOPE = 32;
const LOGIT = 8;
/** Max-label propagation: MaxPool steps per Loop iteration, and an iteration cap well above any 256×256 path. */
const STEPS_PER_ITERATION = 8;
const MAX_ITERATIONS = 1024;
const SAM_MEAN = [123.675, 116.28, 103.53];
const SAM_STD = [58.395, 57.12, 57.375];

/** The two segmenter graphs as ONNX model bytes. */
export interface DemoSegmenter {
  encoder: Uint8Array;
  decoder: Uint8Array;
  /** The fast contract's decoder with a prompt batch axis. */
  decoderBatched: Uint8Array;
}

/** Builds the demo segmenter's encoder and decoder (deterministic bytes). */
export function buildDemoSegmenter(): DemoSegmenter {
  const metadata = { 'pseudo-ris.demo': 'true', 'pseudo-ris.segmenter-version': String(SEGMENTER_VERSION) };
  return {
    encoder: buildEncoder().toModel({
      opset: 17,
      docString: 'Demo SAM-contract image encoder for the shapes world (not a real model).',
      metadata,
    }),
    decoder: buildDecoder().toModel({
      opset: 17,
      docString: 'Demo SAM-contract prompt decoder for the shapes world (not a real model).',
      metadata,
    }),
    decoderBatched: buildDecoderBatched().toModel({
      opset: 17,
      docString: 'Demo SAM-contract prompt decoder with a prompt batch axis (not a real model).',
      metadata,
    }),
  };
}

/** Chromaticity prototypes [7,3]: the six colours' rgb/(r+g+b), then neutral grey. */
function prototypes(): number[][] {
  const rows = COLOURS.map((c) => {
    const [r, g, b] = COLOUR_RGB[c];
    const s = r + g + b;
    return [r / s, g / s, b / s];
  });
  rows.push([1 / 3, 1 / 3, 1 / 3]);
  return rows;
}

function buildEncoder(): GraphBuilder {
  const g = new GraphBuilder('demo_sam_encoder');
  // in: image float32[1,3,1024,1024]
  const image = g.input('image', 'float32', [1, 3, 1024, 1024]);
  const rgb = g.op('Add', [
    g.op('Mul', [image, g.floats(SAM_STD, [1, 3, 1, 1])]),
    g.floats(SAM_MEAN, [1, 3, 1, 1]),
  ]);
  // Padding is exactly 0 after normalization; a real pixel never is (the means are not integers).
  const valid = g.op('Cast', [g.op('Greater', [maxOver(g, g.op('Abs', [image]), 1), g.floats([1e-4], [])])], {
    to: attr.int(1),
  });
  const sum = g.op('Add', [
    g.op('ReduceSum', [rgb, g.ints([1])], { keepdims: attr.int(1) }),
    g.floats([1e-3], []),
  ]);
  const chroma = g.op('Div', [rgb, sum]); // [1,3,1024,1024]
  // Nearest prototype by squared distance |x|² − 2 x·p + |p|²; |x|² is the same for every prototype, so the
  // argmin needs only −2 x·p + |p|² (a [7,3]×[3,H·W] MatMul).
  const protos = prototypes();
  const weights = protos.flatMap((p) => p.map((v) => -2 * v));
  const bias = protos.map((p) => p.reduce((a, v) => a + v * v, 0));
  const score = g.op('Add', [
    g.op('MatMul', [g.floats(weights, [protos.length, 3]), g.op('Reshape', [chroma, g.ints([3, -1])])]),
    g.floats(bias, [protos.length, 1]),
  ]); // [7,1048576]
  const nearest = g.op('Reshape', [
    g.op('ArgMin', [score], { axis: attr.int(0), keepdims: attr.int(1) }),
    g.ints([1, 1, 1024, 1024]),
  ]); // [1,1,1024,1024] // [1,1,1024,1024]
  const classIds = g.ints(
    protos.map((_, i) => i),
    [1, protos.length, 1, 1],
  );
  const oneHot = g.op('Mul', [
    g.op('Cast', [g.op('Equal', [nearest, classIds])], { to: attr.int(1) }),
    valid,
  ]);
  const padding = g.op('Sub', [g.floats([1], []), valid]);
  const classes = g.op('Concat', [oneHot, padding], { axis: attr.int(1) }); // [1,8,1024,1024]
  const fractions = g.op('AveragePool', [classes], {
    kernel_shape: attr.ints([4, 4]),
    strides: attr.ints([4, 4]),
  });
  // out of this step: fractions float32[1,8,256,256]

  // Dominant class per cell (padding excluded from labelling), one plane per labelled class.
  const dominant = g.op('ArgMax', [fractions], { axis: attr.int(1), keepdims: attr.int(1) });
  const labelled = g.op(
    'Cast',
    [
      g.op('Equal', [
        dominant,
        g.ints(
          protos.map((_, i) => i),
          [1, protos.length, 1, 1],
        ),
      ]),
    ],
    {
      to: attr.int(1),
    },
  ); // [1,7,256,256]
  const cellIds = g.op('Reshape', [
    g.op('Range', [g.floats([1], []), g.floats([CELLS + 1], []), g.floats([1], [])]),
    g.ints([1, 1, GRID, GRID]),
  ]);
  const initial = g.op('Mul', [labelled, cellIds]);

  // Max-label propagation: every cell takes the largest id among its 8-neighbours of the same class, until stable.
  const body = new GraphBuilder('demo_sam_encoder_propagate');
  body.input('iteration', 'int64', []);
  body.input('condition_in', 'bool', []);
  const before = body.input('labels_in', 'float32', [1, protos.length, GRID, GRID]);
  let labels = before;
  for (let step = 0; step < STEPS_PER_ITERATION; step += 1) {
    const pooled = body.op('MaxPool', [labels], {
      kernel_shape: attr.ints([3, 3]),
      pads: attr.ints([1, 1, 1, 1]),
    });
    labels = body.op('Mul', [pooled, labelled]);
  }
  const changed = body.op('Greater', [
    body.op('ReduceMax', [body.op('Abs', [body.op('Sub', [labels, before])])], { keepdims: attr.int(0) }),
    body.floats([0], []),
  ]);
  body.output(changed, 'bool', [], 'condition_out');
  body.output(labels, 'float32', [1, protos.length, GRID, GRID], 'labels_out');
  const propagated = g.op(
    'Loop',
    [
      g.constant({ dtype: 'int64', dims: [], values: [MAX_ITERATIONS] }),
      g.constant({ dtype: 'bool', dims: [], values: [1] }),
      initial,
    ],
    { body: attr.graph(body) },
  );
  const componentLabel = maxOver(g, propagated, 1); // [1,1,256,256], 0 on padding

  const features = g.op('Concat', [fractions, componentLabel], { axis: attr.int(1) }); // [1,9,256,256]
  const packed = g.op('SpaceToDepth', [features], { blocksize: attr.int(4) });
  // out: image_embeddings float32[1,144,64,64]
  g.output(packed, 'float32', [1, DEMO_EMBEDDING_CHANNELS, 64, 64], 'image_embeddings');
  return g;
}

function buildDecoder(): GraphBuilder {
  const g = new GraphBuilder('demo_sam_decoder');
  // in: image_embeddings float32[1,144,64,64], point_coords float32[1,N,2] (1024 frame), point_labels float32[1,N],
  //     mask_input float32[1,1,256,256], has_mask_input float32[1], orig_im_size float32[2] (H, W)
  const embeddings = g.input('image_embeddings', 'float32', [1, DEMO_EMBEDDING_CHANNELS, 64, 64]);
  const pointCoords = g.input('point_coords', 'float32', [1, 'num_points', 2]);
  const pointLabels = g.input('point_labels', 'float32', [1, 'num_points']);
  const maskInput = g.input('mask_input', 'float32', [1, 1, GRID, GRID]);
  const hasMaskInput = g.input('has_mask_input', 'float32', [1]);
  const origSize = g.input('orig_im_size', 'float32', [2]);
  const { masks, iou, lowRes } = decodePrompt(g, {
    embeddings,
    pointCoords,
    pointLabels,
    maskInput,
    hasMaskInput,
    origSize,
  });
  // out: masks float32[1,4,H,W], iou_predictions float32[1,4], low_res_masks float32[1,4,256,256]
  g.output(masks, 'float32', [1, 4, 'H', 'W'], 'masks');
  g.output(iou, 'float32', [1, 4], 'iou_predictions');
  g.output(lowRes, 'float32', [1, 4, GRID, GRID], 'low_res_masks');
  return g;
}

/**
 * The batched decoder of the fast contract (runtime/README.md): point_coords [B,N,2], point_labels [B,N], mask_input
 * [1,1,256,256] and has_mask_input [1] shared by the B prompts → masks [B,4,H,W], iou_predictions [B,4],
 * low_res_masks [B,4,256,256]. A Loop over the B prompts runs the batch-1 decoder's own operations on each
 * (`decodePrompt`), so every prompt's outputs are byte-identical to a batch-1 run — in one session run.
 */
function buildDecoderBatched(): GraphBuilder {
  const g = new GraphBuilder('demo_sam_decoder_batched');
  const embeddings = g.input('image_embeddings', 'float32', [1, DEMO_EMBEDDING_CHANNELS, 64, 64]);
  const pointCoords = g.input('point_coords', 'float32', ['B', 'num_points', 2]);
  const pointLabels = g.input('point_labels', 'float32', ['B', 'num_points']);
  const maskInput = g.input('mask_input', 'float32', [1, 1, GRID, GRID]);
  const hasMaskInput = g.input('has_mask_input', 'float32', [1]);
  const origSize = g.input('orig_im_size', 'float32', [2]);
  const body = new GraphBuilder('demo_sam_decoder_batched_prompt');
  const iteration = body.input('prompt_index', 'int64', []);
  const condition = body.input('condition_in', 'bool', []);
  const index = body.op('Unsqueeze', [iteration, body.ints([0])]); // [1]
  const decoded = decodePrompt(body, {
    embeddings,
    pointCoords: body.op('Gather', [pointCoords, index], { axis: attr.int(0) }), // [1,N,2]
    pointLabels: body.op('Gather', [pointLabels, index], { axis: attr.int(0) }), // [1,N]
    maskInput,
    hasMaskInput,
    origSize,
  });
  body.output(body.op('Identity', [condition]), 'bool', [], 'condition_out');
  body.output(decoded.masks, 'float32', [1, 4, 'H', 'W'], 'prompt_masks');
  body.output(decoded.iou, 'float32', [1, 4], 'prompt_iou');
  body.output(decoded.lowRes, 'float32', [1, 4, GRID, GRID], 'prompt_low_res');
  const prompts = g.op('Squeeze', [
    g.op('Slice', [g.op('Shape', [pointCoords]), g.ints([0]), g.ints([1])]),
    g.ints([0]),
  ]); // int64 scalar B
  const [masks, iou, lowRes] = g.node('Loop', [prompts, ''], { body: attr.graph(body) }, 3); // [B,1,…]
  const squeeze = (value: string) => g.op('Squeeze', [value, g.ints([1])]);
  g.output(squeeze(masks), 'float32', ['B', 4, 'H', 'W'], 'masks');
  g.output(squeeze(iou), 'float32', ['B', 4], 'iou_predictions');
  g.output(squeeze(lowRes), 'float32', ['B', 4, GRID, GRID], 'low_res_masks');
  return g;
}

/** The value names one prompt's decoding reads (batch-1 shapes). */
interface PromptValues {
  embeddings: string;
  pointCoords: string;
  pointLabels: string;
  maskInput: string;
  hasMaskInput: string;
  origSize: string;
}

/** One prompt's decoding: the batch-1 decoder's operations, added to `g`. */
function decodePrompt(
  g: GraphBuilder,
  { embeddings, pointCoords, pointLabels, maskInput, hasMaskInput, origSize }: PromptValues,
): { masks: string; iou: string; lowRes: string } {
  const features = g.op('DepthToSpace', [embeddings], { blocksize: attr.int(4), mode: attr.string('DCR') });
  const fractions = g.op('Reshape', [
    g.op('Slice', [features, g.ints([0]), g.ints([CLASSES]), g.ints([1])]),
    g.ints([CLASSES, CELLS]),
  ]); // [8,65536]
  const labels = g.op('Reshape', [
    g.op('Slice', [features, g.ints([CLASSES]), g.ints([FEATURES]), g.ints([1])]),
    g.ints([1, CELLS]),
  ]); // [1,65536]

  // Prompts: [N,2] coordinates and [N] labels.
  const coords = g.op('Reshape', [pointCoords, g.ints([-1, 2])]);
  const kinds = g.op('Reshape', [pointLabels, g.ints([-1])]);
  const is = (value: number) =>
    g.op('Cast', [g.op('Equal', [kinds, g.floats([value], [])])], { to: attr.int(1) });
  const isForeground = is(1);
  const isBackground = is(0);
  const isTopLeft = is(2);
  const isBottomRight = is(3);
  const xs = g.op('Reshape', [g.op('Slice', [coords, g.ints([0]), g.ints([1]), g.ints([1])]), g.ints([-1])]);
  const ys = g.op('Reshape', [g.op('Slice', [coords, g.ints([1]), g.ints([2]), g.ints([1])]), g.ints([-1])]);
  const pick = (values: string, weights: string) =>
    g.op('ReduceSum', [g.op('Mul', [values, weights]), g.ints([0])], { keepdims: attr.int(1) }); // [1]
  const hasBox = maxOver(g, isTopLeft, 0, 1);
  const hasForeground = maxOver(g, isForeground, 0, 1);
  const boxX0 = pick(xs, isTopLeft);
  const boxY0 = pick(ys, isTopLeft);
  const boxX1 = pick(xs, isBottomRight);
  const boxY1 = pick(ys, isBottomRight);
  // A box alone prompts the component under its centre (the world's shapes cover their box centre).
  const half = g.floats([0.5], []);
  const centreX = g.op('Mul', [g.op('Add', [boxX0, boxX1]), half]);
  const centreY = g.op('Mul', [g.op('Add', [boxY0, boxY1]), half]);
  const implicit = g.op('Mul', [hasBox, g.op('Sub', [g.floats([1], []), hasForeground])]);
  const allX = g.op('Concat', [xs, centreX], { axis: attr.int(0) }); // [N+1]
  const allY = g.op('Concat', [ys, centreY], { axis: attr.int(0) });
  const foregroundWeight = g.op('Concat', [isForeground, implicit], { axis: attr.int(0) });
  const backgroundWeight = g.op('Concat', [isBackground, g.floats([0])], { axis: attr.int(0) });

  // Cell under each point (1024 frame → 256 grid).
  const cellOf = (v: string) =>
    g.op('Clip', [
      g.op('Floor', [g.op('Mul', [v, g.floats([0.25], [])])]),
      g.floats([0], []),
      g.floats([GRID - 1], []),
    ]);
  const cellIndex = g.op(
    'Cast',
    [g.op('Add', [g.op('Mul', [cellOf(allY), g.floats([GRID], [])]), cellOf(allX)])],
    {
      to: attr.int(7),
    },
  ); // [N+1] int64
  const pointLabel = g.op('Gather', [g.op('Reshape', [labels, g.ints([-1])]), cellIndex], {
    axis: attr.int(0),
  }); // [N+1]
  const pointFractions = g.op('Gather', [fractions, cellIndex], { axis: attr.int(1) }); // [8,N+1]
  const pointClass = g.op('ArgMax', [pointFractions], { axis: attr.int(0), keepdims: attr.int(0) }); // [N+1]
  const onComponent = g.op('Cast', [g.op('Greater', [pointLabel, g.floats([0], [])])], { to: attr.int(1) });

  // Per point: component membership, a one-cell ring around it, and the soft logit of the point's class.
  const region = g.op('Cast', [g.op('Equal', [labels, g.op('Unsqueeze', [pointLabel, g.ints([1])])])], {
    to: attr.int(1),
  }); // [N+1,65536]
  const ring = g.op('Reshape', [
    g.op('MaxPool', [g.op('Reshape', [region, g.ints([-1, 1, GRID, GRID])])], {
      kernel_shape: attr.ints([3, 3]),
      pads: attr.ints([1, 1, 1, 1]),
    }),
    g.ints([-1, CELLS]),
  ]);
  const classFraction = g.op('Gather', [fractions, pointClass], { axis: attr.int(0) }); // [N+1,65536]
  const soft = g.op('Clip', [
    g.op('Mul', [g.op('Sub', [classFraction, half]), g.floats([SLOPE], [])]),
    g.floats([-LOGIT], []),
    g.floats([LOGIT], []),
  ]);
  const gated = gate(g, soft, ring); // [N+1,65536]
  const perPoint = (weights: string) =>
    maxOver(g, gate(g, gated, g.op('Unsqueeze', [g.op('Mul', [weights, onComponent]), g.ints([1])])), 0, 0); // [65536]
  const previous = g.op('Reshape', [
    g.op('Clip', [maskInput, g.floats([-LOGIT], []), g.floats([LOGIT], [])]),
    g.ints([CELLS]),
  ]);
  const foreground = g.op('Max', [perPoint(foregroundWeight), gate(g, previous, hasMaskInput)]);
  const background = perPoint(backgroundWeight);
  let combined = g.op('Min', [foreground, g.op('Neg', [background])]);
  // Box: −8 outside [x0, x1] × [y0, y1] (cell centres), no effect without one.
  const cellCentres = g.op('Mul', [
    g.op('Add', [g.op('Range', [g.floats([0], []), g.floats([GRID], []), g.floats([1], [])]), half]),
    g.floats([4], []),
  ]); // [256]
  const within = (lo: string, hi: string) =>
    g.op('Mul', [
      g.op('Cast', [g.op('GreaterOrEqual', [cellCentres, g.op('Sub', [lo, g.floats([2], [])])])], {
        to: attr.int(1),
      }),
      g.op('Cast', [g.op('LessOrEqual', [cellCentres, g.op('Add', [hi, g.floats([2], [])])])], {
        to: attr.int(1),
      }),
    ]);
  const inBox = g.op('Reshape', [
    g.op('Mul', [
      g.op('Unsqueeze', [within(boxY0, boxY1), g.ints([1])]),
      g.op('Unsqueeze', [within(boxX0, boxX1), g.ints([0])]),
    ]),
    g.ints([CELLS]),
  ]);
  const boxLimit = g.op('Sub', [
    g.op('Mul', [g.op('Mul', [inBox, hasBox]), g.floats([2 * LOGIT], [])]),
    g.floats([LOGIT], []),
  ]);
  const noBox = g.op('Mul', [g.op('Sub', [g.floats([1], []), hasBox]), g.floats([2 * LOGIT], [])]);
  combined = g.op('Min', [combined, g.op('Add', [boxLimit, noBox])]);
  const mask = g.op('Reshape', [combined, g.ints([1, 1, GRID, GRID])]);

  // Nested hypotheses: eroded, as is, dilated (by one cell).
  const pool3 = { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) };
  const eroded = g.op('Neg', [g.op('MaxPool', [g.op('Neg', [mask])], pool3)]);
  const dilated = g.op('MaxPool', [mask], pool3);
  const lowRes = g.op('Concat', [mask, eroded, mask, dilated], { axis: attr.int(1) }); // [1,4,256,256]

  // Pre-padding size in the 1024 frame: floor(orig · 1024 / max(orig) + 0.5).
  const longest = maxOver(g, origSize, 0, 1);
  const prePadding = g.op('Floor', [
    g.op('Add', [g.op('Div', [g.op('Mul', [origSize, g.floats([1024], [])]), longest]), half]),
  ]); // [2] float (h', w')

  // Predicted IoU from the mask itself: touching the image border (a background) or tiny ⇒ low.
  const inside = g.op('Cast', [g.op('Greater', [combined, g.floats([0], [])])], { to: attr.int(1) }); // [65536]
  const area = g.op('ReduceSum', [inside, g.ints([0])], { keepdims: attr.int(1) }); // [1]
  const lastRow = g.op('Floor', [
    g.op('Div', [
      g.op('Sub', [g.op('Slice', [prePadding, g.ints([0]), g.ints([1]), g.ints([0])]), half]),
      g.floats([4], []),
    ]),
  ]);
  const lastColumn = g.op('Floor', [
    g.op('Div', [
      g.op('Sub', [g.op('Slice', [prePadding, g.ints([1]), g.ints([2]), g.ints([0])]), half]),
      g.floats([4], []),
    ]),
  ]);
  const index = g.op('Range', [g.floats([0], []), g.floats([GRID], []), g.floats([1], [])]); // [256]
  const edgeOf = (last: string) =>
    g.op('Max', [
      g.op('Cast', [g.op('Equal', [index, g.floats([0], [])])], { to: attr.int(1) }),
      g.op('Cast', [g.op('Equal', [index, last])], { to: attr.int(1) }),
    ]);
  const rowEdge = g.op('Unsqueeze', [edgeOf(lastRow), g.ints([1])]); // [256,1]
  const columnEdge = g.op('Unsqueeze', [edgeOf(lastColumn), g.ints([0])]); // [1,256]
  const rowValid = g.op('Unsqueeze', [
    g.op('Cast', [g.op('LessOrEqual', [index, lastRow])], { to: attr.int(1) }),
    g.ints([1]),
  ]);
  const columnValid = g.op('Unsqueeze', [
    g.op('Cast', [g.op('LessOrEqual', [index, lastColumn])], { to: attr.int(1) }),
    g.ints([0]),
  ]);
  const border = g.op('Reshape', [
    g.op('Mul', [g.op('Mul', [rowValid, columnValid]), g.op('Max', [rowEdge, columnEdge])]),
    g.ints([CELLS]),
  ]);
  const touches = maxOver(g, g.op('Mul', [inside, border]), 0, 1); // [1]
  const tiny = g.op('Cast', [g.op('Less', [area, g.floats([12], [])])], { to: attr.int(1) });
  const quality = g.op('Sub', [
    g.op('Sub', [g.floats([0.96], []), g.op('Mul', [touches, g.floats([0.6], [])])]),
    g.op('Mul', [tiny, g.floats([0.4], [])]),
  ]); // [1]
  const iou = g.op('Clip', [
    g.op('Add', [g.op('Unsqueeze', [quality, g.ints([0])]), g.floats([0, -0.1, 0, -0.15], [1, 4])]),
    g.floats([0], []),
    g.floats([1], []),
  ]); // [1,4]

  // Official post-processing: upsample to 1024, crop the padding, resize to the original size. The upsampling (×4,
  // half-pixel) reads low-res rows up to floor(h'/4) + 1 for output rows below h', so the low-res logits are cut to
  // that first: the same values, without upsampling the padding.
  const cropEnd = g.op('Cast', [prePadding], { to: attr.int(7) });
  const lowResEnd = g.op(
    'Cast',
    [
      g.op('Min', [
        g.op('Add', [g.op('Floor', [g.op('Div', [prePadding, g.floats([4], [])])]), g.floats([2], [])]),
        g.floats([GRID], []),
      ]),
    ],
    { to: attr.int(7) },
  );
  const lowResCropped = g.op('Slice', [lowRes, g.ints([0, 0]), lowResEnd, g.ints([2, 3])]);
  const upsampled = g.op('Resize', [lowResCropped, '', g.floats([1, 1, 4, 4])], resizeAttributes());
  const cropped = g.op('Slice', [upsampled, g.ints([0, 0]), cropEnd, g.ints([2, 3])]);
  const outSize = g.op('Concat', [g.ints([1, 4]), g.op('Cast', [origSize], { to: attr.int(7) })], {
    axis: attr.int(0),
  });
  const masks = g.op('Resize', [cropped, '', '', outSize], resizeAttributes());

  return { masks, iou, lowRes };
}

/** torch's bilinear interpolate with align_corners=False, as the official export uses. */
function resizeAttributes() {
  return {
    mode: attr.string('linear'),
    coordinate_transformation_mode: attr.string('half_pixel'),
  };
}

/** ReduceMax over one axis (opset 17 takes axes as an attribute). */
function maxOver(g: GraphBuilder, value: string, axis: number, keepdims = 1): string {
  return g.op('ReduceMax', [value], { axes: attr.ints([axis]), keepdims: attr.int(keepdims) });
}

/** `weight ? logits : −8` for weights in {0, 1}, as arithmetic: (logits + 8)·weight − 8. */
function gate(g: GraphBuilder, logits: string, weight: string): string {
  return g.op('Sub', [
    g.op('Mul', [g.op('Add', [logits, g.floats([LOGIT], [])]), weight]),
    g.floats([LOGIT], []),
  ]);
}
