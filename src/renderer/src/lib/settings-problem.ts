/**
 * The parameters panel's validation in words: the shared schema decides, this names the field as the panel labels it
 * and says what it takes (issue 22: τ = −1 showed "settings.filter.tau: tau must be ≥ 0" after Save, and stayed after
 * τ was fixed). Checked on every change of the draft, so a message goes as soon as the value is valid.
 */
import { SettingsSchema, TAU_MAX, TAU_MIN } from '../../../shared/settings.ts';

/** What the panel calls a settings path, and what it takes when the schema's message is not enough. */
const FIELDS: Record<string, { label: string; takes?: string }> = {
  'filter.tau': {
    label: 'τ (the DoS threshold)',
    takes: `a number from ${TAU_MIN} to ${TAU_MAX}; the paper uses 1.3, higher keeps fewer candidates`,
  },
  'filter.singleMaskShare': { label: 'share kept', takes: 'a share above 0 and at most 1, e.g. 0.5' },
  'masks.maxMasks': { label: 'masks per image (K)' },
  'masks.hardCap': { label: 'hard cap' },
  'masks.pointsPerSide': { label: 'points per side' },
  'captions.temperature': { label: 'temperature' },
  'captions.minLength': { label: 'min length' },
  'captions.maxLength': { label: 'max length' },
  'captions.repetitionPenalty': { label: 'repetition penalty' },
  'captions.topK': { label: 'top-k set' },
  'captions.topP': { label: 'top-p set' },
  'crops.margins': { label: 'box margins' },
  seed: { label: 'seed' },
  maxPixels: { label: 'max pixels per image' },
};

/** The draft's problems in words, one per field (empty when the draft is valid). */
export function settingsProblems(draft: unknown): string[] {
  const result = SettingsSchema.safeParse(draft);
  if (result.success) return [];
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const issue of result.error.issues) {
    const path = issue.path.map(String).join('.');
    const key = Object.keys(FIELDS).find((field) => path === field || path.startsWith(`${field}.`));
    if (key && seen.has(key)) continue;
    if (key) seen.add(key);
    const field = key ? FIELDS[key]! : { label: path || 'settings' };
    const value = valueAt(draft, issue.path.map(String));
    const given =
      value === '' || value === undefined || value === null ? 'it is empty' : `${String(value)} was given`;
    problems.push(`${field.label}: ${field.takes ? `must be ${field.takes}` : issue.message} (${given})`);
  }
  return problems;
}

function valueAt(root: unknown, path: string[]): unknown {
  let value = root;
  for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}
