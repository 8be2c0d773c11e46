/**
 * Where `generate --queue` and `worker` take the Redis URL from: the flag, a file (`--queue-url-file`, out of `ps`),
 * or `$PSEUDO_RIS_QUEUE_URL` for a bare `--queue`; the file's content is never quoted in a message.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QUEUE_URL_VARIABLE, queueUrl } from './queued.ts';

const saved = process.env[QUEUE_URL_VARIABLE];
afterEach(() => {
  if (saved === undefined) delete process.env[QUEUE_URL_VARIABLE];
  else process.env[QUEUE_URL_VARIABLE] = saved;
});

describe('the Redis URL of a queued run', () => {
  it('comes from --queue, --queue-url-file or, for a bare --queue, the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-queue-url-'));
    const file = join(dir, 'url');
    writeFileSync(file, 'redis://:s3cret@host:6379/0\n');
    expect(queueUrl({ queue: 'redis://a:1/0' })).toBe('redis://a:1/0');
    expect(queueUrl({ queueUrlFile: file })).toBe('redis://:s3cret@host:6379/0');
    process.env[QUEUE_URL_VARIABLE] = 'redis://env:2/0';
    expect(queueUrl({ queue: true })).toBe('redis://env:2/0');
    expect(queueUrl({}, { required: true })).toBe('redis://env:2/0');
    expect(queueUrl({})).toBeUndefined();
  });

  it('refuses two sources, an empty file and a missing variable, quoting no secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pseudo-ris-queue-url-'));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(() => queueUrl({ queue: 'redis://a:1/0', queueUrlFile: empty })).toThrow(
      'give the Redis URL once',
    );
    expect(() => queueUrl({ queueUrlFile: empty })).toThrow(`--queue-url-file ${empty} is empty`);
    expect(() => queueUrl({ queueUrlFile: join(dir, 'none') })).toThrow('cannot be read (ENOENT)');
    delete process.env[QUEUE_URL_VARIABLE];
    expect(() => queueUrl({ queue: true })).toThrow(`$${QUEUE_URL_VARIABLE} (unset here)`);
  });
});
