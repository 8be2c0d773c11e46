import { describe, expect, it } from 'vitest';
import { maskSetEdited, renamedMask } from './recaption.ts';

const ids = (...list: string[]) => list.map((id) => ({ id }));

describe('the workspace re-caption rules', () => {
  it('sees an edited mask set when a prompted mask is not captioned yet or a captioned one was deleted', () => {
    const done = { status: 'done' as const, masks: 3 };
    expect(maskSetEdited(ids('1:0', '1:1', '1:2'), done)).toBe(false);
    expect(maskSetEdited(ids('1:0', '1:1', '1:2', '1:u0'), done)).toBe(true);
    expect(maskSetEdited(ids('1:0', '1:2'), done)).toBe(true);
    // a mask added by a prompt and then captioned by a re-caption is a stored mask like the others
    expect(maskSetEdited(ids('1:0', '1:1', '1:2', '1:3'), { status: 'done', masks: 4 })).toBe(false);
  });

  it('offers no re-caption for an image that is not done', () => {
    expect(maskSetEdited(ids('1:u0'), { status: 'pending', masks: 0 })).toBe(false);
    expect(maskSetEdited(ids('1:u0'), { status: 'running', masks: 0 })).toBe(false);
    expect(maskSetEdited(ids('1:u0'), undefined)).toBe(false);
  });

  it('renames masks by their position in the list the re-caption started from', () => {
    const order = ['1:0', '1:2', '1:u1'];
    const now = ['1:0', '1:1', '1:2'];
    expect(renamedMask('1:u1', '1', order, now)).toBe('1:2');
    expect(renamedMask('1:2', '1', order, now)).toBe('1:1');
    expect(renamedMask('1:0', '1', order, now)).toBe('1:0');
    expect(renamedMask('1:1', '1', order, now)).toBeNull();
    expect(renamedMask(null, '1', order, now)).toBeNull();
  });

  it('keeps every id when the re-caption committed nothing', () => {
    const order = ['1:0', '1:2', '1:u1'];
    expect(renamedMask('1:2', '1', order, order)).toBe('1:2');
    expect(renamedMask('1:u1', '1', order, order)).toBe('1:u1');
  });
});
