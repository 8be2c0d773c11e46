import { describe, expect, it } from 'vitest';
import { isTypingTarget } from './view-keys.ts';

const on = (tagName: string, type = '', key = 'j') => ({
  key,
  target: { tagName, type, isContentEditable: false } as unknown as EventTarget,
});

describe('which keys a focused field keeps', () => {
  it('keeps every key in a text field, select and text area', () => {
    for (const key of ['j', 'J', '[', '?', '1'])
      expect([key, isTypingTarget(on('INPUT', 'text', key))]).toEqual([key, true]);
    expect(isTypingTarget(on('SELECT'))).toBe(true);
    expect(isTypingTarget(on('TEXTAREA'))).toBe(true);
  });

  it('keeps only what a number is typed and edited with in the τ box, so review and image keys pass', () => {
    for (const key of ['0', '7', '.', '-', 'Backspace', 'ArrowUp', 'Enter', 'Tab'])
      expect([key, isTypingTarget(on('INPUT', 'number', key))]).toEqual([key, true]);
    // `e` edits the caption even from the τ box (τ is never typed as 1e-1)
    for (const key of ['j', 'J', 'K', 'a', 'e', '[', ']', '?', 'A'])
      expect([key, isTypingTarget(on('INPUT', 'number', key))]).toEqual([key, false]);
  });

  it('keeps only a slider’s and a button’s own keys', () => {
    expect(isTypingTarget(on('INPUT', 'range', 'ArrowLeft'))).toBe(true);
    expect(isTypingTarget(on('INPUT', 'range', 'J'))).toBe(false);
    expect(isTypingTarget(on('BUTTON', '', ' '))).toBe(true);
    expect(isTypingTarget(on('BUTTON', '', 'J'))).toBe(false);
    expect(isTypingTarget(on('DIV', '', 'J'))).toBe(false);
  });
});
