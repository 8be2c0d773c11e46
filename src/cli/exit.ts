/**
 * The CLI's exit codes, one scheme for every command (README "Exit codes").
 *
 * A script can tell apart "nothing ran" (1: fix the input), "the run finished but some images are recorded as
 * failed" (2: fix those files, then `generate --retry-failed`) and "stopped by Ctrl-C" (130 = 128 + SIGINT, the
 * shell convention; the run resumes later).
 */
export const EXIT = {
  /** Everything asked was done. */
  ok: 0,
  /** Bad input refused before anything ran (a usage error, a bad flag value or file, a locked or mismatched project,
   * a broken model pack), or an error that stopped the command. */
  badInput: 1,
  /** The run completed, but some images are recorded as failed (each with its file name and reason). */
  imagesFailed: 2,
  /** Interrupted (Ctrl-C); committed images are kept and the run resumes. */
  interrupted: 130,
} as const;
