// Small pieces several console panels share.
import type { NumberView } from './types.js';

/** A failure said plainly, announced to screen readers; nothing when there is none. */
export function Problem({ text }: { text: string | null | undefined }) {
  if (!text) return null;
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

/** A labelled choice of one of the business numbers. */
export function NumberSelect({ id, label, numbers, value, onChange }: { id: string; label: string; numbers: readonly NumberView[]; value: string; onChange: (number: string) => void }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {numbers.map((n) => (
          <option key={n.number} value={n.number}>
            {n.number}
          </option>
        ))}
      </select>
    </div>
  );
}
