/**
 * numpy's `np.argsort(values)` (default `kind='quicksort'`) as its generic C code computes it: the introsort of
 * `numpy/_core/src/npysort/quicksort.cpp` (`aquicksort_`: median-of-three partitions, insertion sort below 16
 * elements, heapsort past a depth of 2·⌊log2 n⌋). Not stable, so equal values come out in the order that algorithm
 * leaves them — the order the released Pseudo-RIS loader's `np.argsort(doc)[::-1]` ranks tied captions in.
 *
 * numpy builds that dispatch `argsort` to x86-simd-sort instead (checked here: numpy 2.4.6 on an AVX2 CPU) order ties
 * differently; with that dispatch switched off (`NPY_DISABLE_CPU_FEATURES=X86_V3`) numpy 2.4.6 gives this order on
 * 2,000 tie-heavy arrays (`numpy-argsort.test.ts`'s golden file).
 */

/** The permutation `np.argsort` gives for float64 `values` (NaN last, as numpy's `Tag::less` orders them). */
export function numpyArgsort(values: ArrayLike<number>): number[] {
  const v = values;
  const n = v.length;
  const t = Array.from({ length: n }, (_, i) => i);
  if (n < 2) return t;
  const swap = (i: number, j: number) => {
    const x = t[i];
    t[i] = t[j];
    t[j] = x;
  };
  const stack: number[] = [];
  const depths: number[] = [];
  let pl = 0;
  let pr = n - 1;
  let depth = 0; // npy_get_msb(num) * 2
  for (let m = n; m > 1; m >>= 1) depth += 2;
  for (;;) {
    if (depth < 0) heapsort(v, t, pl, pr - pl + 1);
    else {
      while (pr - pl > SMALL_QUICKSORT) {
        const pm = pl + ((pr - pl) >> 1);
        if (less(v[t[pm]], v[t[pl]])) swap(pm, pl);
        if (less(v[t[pr]], v[t[pm]])) swap(pr, pm);
        if (less(v[t[pm]], v[t[pl]])) swap(pm, pl);
        const pivot = v[t[pm]];
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do pi++;
          while (less(v[t[pi]], pivot));
          do pj--;
          while (less(pivot, v[t[pj]]));
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        // the larger partition waits on the stack
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depths.push(--depth);
      }
      for (let pi = pl + 1; pi <= pr; pi++) {
        const vi = t[pi];
        const value = v[vi];
        let pj = pi;
        while (pj > pl && less(value, v[t[pj - 1]])) {
          t[pj] = t[pj - 1];
          pj--;
        }
        t[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop()!;
    pl = stack.pop()!;
    depth = depths.pop()!;
  }
  return t;
}

/** numpy's SMALL_QUICKSORT (npysort_common.h): partitions of at most 16 elements go to insertion sort. */
const SMALL_QUICKSORT = 15;

/** numpy's float order: NaN after every number. */
function less(a: number, b: number): boolean {
  return a < b || (b !== b && a === a);
}

/** numpy's `aheapsort_` over `t[start … start+n-1]` (1-based heap indices, as the C code offsets them). */
function heapsort(v: ArrayLike<number>, t: number[], start: number, n: number): void {
  const at = (i: number) => t[start + i - 1];
  const put = (i: number, x: number) => (t[start + i - 1] = x);
  const sift = (from: number, tmp: number, size: number) => {
    let i = from;
    let j = from << 1;
    while (j <= size) {
      if (j < size && less(v[at(j)], v[at(j + 1)])) j++;
      if (!less(v[tmp], v[at(j)])) break;
      put(i, at(j));
      i = j;
      j += j;
    }
    put(i, tmp);
  };
  for (let l = n >> 1; l > 0; l--) sift(l, at(l), n);
  for (let size = n; size > 1;) {
    const tmp = at(size);
    put(size, at(1));
    size--;
    sift(1, tmp, size);
  }
}
