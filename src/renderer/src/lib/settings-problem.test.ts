import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../../shared/settings.ts';
import { settingsProblems } from './settings-problem.ts';

const valid = () => JSON.parse(JSON.stringify(parseSettings({}))) as ReturnType<typeof parseSettings>;

describe('settingsProblems', () => {
  it('says what τ takes, in words, with the value given', () => {
    const draft = valid();
    draft.filter.tau = -1;
    expect(settingsProblems(draft)).toEqual([
      'τ (the DoS threshold): must be a number from 0 to 10; the paper uses 1.3, higher keeps fewer candidates (-1 was given)',
    ]);
  });

  it('says an emptied field is empty (v-model.number gives "")', () => {
    const draft = valid() as unknown as { filter: { tau: unknown } };
    draft.filter.tau = '';
    expect(settingsProblems(draft)[0]).toMatch(/^τ \(the DoS threshold\): must be .* \(it is empty\)$/);
  });

  it('has nothing to say once the value is valid again', () => {
    const draft = valid();
    draft.filter.tau = 11;
    expect(settingsProblems(draft)).toHaveLength(1);
    draft.filter.tau = 1.29;
    expect(settingsProblems(draft)).toEqual([]);
  });

  it('names other fields as the panel labels them', () => {
    const draft = valid();
    draft.masks.maxMasks = 0;
    expect(settingsProblems(draft)[0]).toMatch(/^masks per image \(K\): .* \(0 was given\)$/);
  });
});
