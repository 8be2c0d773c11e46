/** Flag parsing shared by the commands. */

/** A flag's value as a non-negative integer; the message names the flag and what it got. */
export function wholeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${flag} must be a non-negative integer, got "${value}"`);
  return n;
}
