import { describe, expect, it } from 'vitest';
import type { ImageSummary } from '../../../shared/api.ts';
import { galleryImages, neighbourImage, type GalleryCounts } from './gallery-order.ts';

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
const counts: GalleryCounts = {
  kept: (id) => ({ '1': 1, '3': 4, '5': 4 })[id],
  review: (id) => ({ '1': { reviewed: 4, total: 4 }, '3': { reviewed: 1, total: 4 } })[id],
};
const ids = (list: ImageSummary[]) => list.map((i) => i.id);

describe('the gallery list', () => {
  it('filters by status and by review progress (done and not fully reviewed)', () => {
    expect(ids(galleryImages(images, 'all', 'project', counts))).toEqual(['1', '2', '3', '4', '5']);
    expect(ids(galleryImages(images, 'done', 'project', counts))).toEqual(['1', '3', '5']);
    expect(ids(galleryImages(images, 'failed', 'project', counts))).toEqual(['2']);
    expect(ids(galleryImages(images, 'pending', 'project', counts))).toEqual(['4']);
    expect(ids(galleryImages(images, 'unreviewed', 'project', counts))).toEqual(['3', '5']);
  });

  it('orders by natural file name, or by kept count (ties and unknown counts keep the project order)', () => {
    expect(ids(galleryImages(images, 'all', 'name', counts))).toEqual(['3', '2', '1', '4', '5']);
    expect(ids(galleryImages(images, 'all', 'kept', counts))).toEqual(['3', '5', '1', '2', '4']);
  });

  it('steps to the neighbour in the list, skipping failed images, and stops at the ends', () => {
    const list = galleryImages(images, 'all', 'name', counts); // 3, 2 (failed), 1, 4, 5
    expect(neighbourImage(list, '3', 1)?.id).toBe('1');
    expect(neighbourImage(list, '1', -1)?.id).toBe('3');
    expect(neighbourImage(list, '5', 1)).toBeNull();
    expect(neighbourImage(list, '3', -1)).toBeNull();
  });

  it('starts from the first (next) or last (previous) image when the open one is filtered out', () => {
    const done = galleryImages(images, 'done', 'project', counts);
    expect(neighbourImage(done, '4', 1)?.id).toBe('1');
    expect(neighbourImage(done, '4', -1)?.id).toBe('5');
    expect(neighbourImage([], null, 1)).toBeNull();
  });
});
