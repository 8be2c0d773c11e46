import { onActivated, onBeforeUnmount, onDeactivated, onMounted } from 'vue';

/**
 * Registers a view's keyboard shortcuts for as long as the view is shown.
 *
 * Views stay alive (KeepAlive) while hidden, so the handler is muted when its view is deactivated; keys typed into
 * form fields are never shortcuts.
 */
export function useViewKeys(handler: (event: KeyboardEvent) => void): void {
  let active = false;
  const onKey = (event: KeyboardEvent): void => {
    if (active && !isTypingTarget(event)) handler(event);
  };
  onMounted(() => {
    active = true;
    window.addEventListener('keydown', onKey);
  });
  onActivated(() => (active = true));
  onDeactivated(() => (active = false));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey));
}

/** Keys a focused slider, checkbox or button uses itself (everything else is a shortcut even while it has focus). */
const CONTROL_KEYS = new Set([
  'ArrowLeft',
  'ArrowRight',
  'ArrowUp',
  'ArrowDown',
  'Home',
  'End',
  'PageUp',
  'PageDown',
  ' ',
  'Enter',
  'Tab',
]);
/** Inputs that take no typed text: the τ slider, checkboxes, radios, buttons. */
const NON_TEXT_INPUTS = new Set(['range', 'checkbox', 'radio', 'button', 'submit', 'reset', 'color']);

/**
 * What a number field takes as typing: digits, sign, decimal marks, and editing keys. Not the exponent mark `e`: no
 * τ or setting is typed in exponent form, and `e` is the edit-caption key, which a focused τ box would otherwise eat.
 */
const NUMBER_TYPING = /^[0-9.,+-]$/;
const EDITING_KEYS = new Set(['Backspace', 'Delete', 'Escape']);

/**
 * Whether a key press belongs to the focused field rather than to the shortcuts: any key in a text field, select or
 * text area; only the keys the control itself uses in a slider, checkbox or button (so a focused τ slider does not
 * swallow the review keys); in a number field (the τ box) the keys a number is typed and edited with, so letters,
 * brackets and `?` stay shortcuts there too.
 */
export function isTypingTarget(event: Pick<KeyboardEvent, 'target' | 'key'>): boolean {
  const el = event.target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  if (el.isContentEditable || el.tagName === 'SELECT' || el.tagName === 'TEXTAREA') return true;
  if (el.tagName === 'BUTTON') return CONTROL_KEYS.has(event.key);
  if (el.tagName !== 'INPUT') return false;
  const type = (el as HTMLInputElement).type;
  if (type === 'number')
    return NUMBER_TYPING.test(event.key) || CONTROL_KEYS.has(event.key) || EDITING_KEYS.has(event.key);
  return NON_TEXT_INPUTS.has(type) ? CONTROL_KEYS.has(event.key) : true;
}
