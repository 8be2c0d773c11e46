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
    if (active && !isFormField(event.target)) handler(event);
  };
  onMounted(() => {
    active = true;
    window.addEventListener('keydown', onKey);
  });
  onActivated(() => (active = true));
  onDeactivated(() => (active = false));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey));
}

function isFormField(target: EventTarget | null): boolean {
  const tag = (target as HTMLElement | null)?.tagName;
  return tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA';
}
