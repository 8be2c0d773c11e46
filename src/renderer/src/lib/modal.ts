import { onBeforeUnmount, onMounted, type Ref } from 'vue';

/** Elements Tab may stop at. */
const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Makes `dialog` modal for the keyboard while it is mounted (issue 22: Tab left the export dialog, Esc did not close
 * it and 1–7 switched views behind it): Esc calls `close`, Tab and Shift+Tab cycle inside it, and no key reaches the
 * app's or a view's shortcuts (they listen on `window`; this listens there first, in the capture phase). Typing in
 * the dialog's own fields is their default action and is not affected.
 */
export function useModal(dialog: Ref<HTMLElement | null>, close: () => void): void {
  const onKey = (event: KeyboardEvent): void => {
    const root = dialog.value;
    if (!root) return;
    event.stopPropagation();
    if (event.key === 'Escape') {
      event.preventDefault();
      close();
    } else if (event.key === 'Tab') {
      event.preventDefault();
      moveFocus(root, event.shiftKey ? -1 : 1);
    }
  };
  onMounted(() => {
    window.addEventListener('keydown', onKey, true);
    dialog.value?.focus();
  });
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey, true));
}

/** Focuses the next (+1) or previous (−1) focusable element of `root`, wrapping around at either end. */
export function moveFocus(root: HTMLElement, delta: 1 | -1): void {
  const items = [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null);
  if (items.length === 0) {
    root.focus();
    return;
  }
  const at = items.indexOf(document.activeElement as HTMLElement);
  const next = at < 0 ? (delta > 0 ? 0 : items.length - 1) : (at + delta + items.length) % items.length;
  items[next]!.focus();
}
