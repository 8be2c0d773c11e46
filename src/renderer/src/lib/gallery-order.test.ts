import { describe, expect, it } from 'vitest';
import type { ImageSummary } from '../../../shared/api.ts';
import { neighbourImage } from './gallery-order.ts';

const image = (id: string, file: string, status: ImageSummary['status'] = 'done'): ImageSummary => ({
  id,
  file,
  folder: '/images',
  width: 10,
  height: 10,
  status,
  error: null,
  masks: 2,
  candidates: 4,
  kept: 0,
  reviewed: 0,
});
const images = [
  image('1', 'b10.png'),
  image('2', 'b9.png', 'error'),
  image('3', 'a.png'),
  image('4', 'c.png', 'pending'),
  image('5', 'd.png'),
];
const byId = (...ids: string[]) => ids.map((id) => images.find((i) => i.id === id)!);

describe('stepping through the gallery list', () => {
  it('steps to the neighbour in the list, skipping failed images, and stops at the ends', () => {
    const list = byId('3', '2', '1', '4', '5'); // 2 failed
    expect(neighbourImage(list, '3', 1)?.id).toBe('1');
    expect(neighbourImage(list, '1', -1)?.id).toBe('3');
    expect(neighbourImage(list, '5', 1)).toBeNull();
    expect(neighbourImage(list, '3', -1)).toBeNull();
  });

  it('starts from the first (next) or last (previous) image when the open one is filtered out', () => {
    const done = byId('1', '3', '5');
    expect(neighbourImage(done, '4', 1)?.id).toBe('1');
    expect(neighbourImage(done, '4', -1)?.id).toBe('5');
    expect(neighbourImage([], null, 1)).toBeNull();
  });
});
