import { useId, type InputHTMLAttributes, type ReactNode } from 'react';

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id'> {
  label: string;
  /** The problem's message for this field, shown under it and announced. */
  error?: string | null | undefined;
  hint?: ReactNode;
  /** Offered fix (e.g. the nearest valid value), rendered after the error. */
  action?: ReactNode;
}

/** A labelled input with its error next to it (aria-invalid, aria-describedby). */
export function Field({ label, error, hint, action, className, ...input }: FieldProps) {
  const id = useId();
  const described = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(' ');
  return (
    <div className={`field ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={described || undefined} {...input} />
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
      {error && (
        <p id={`${id}-error`} className="field-error" role="alert">
          {error} {action}
        </p>
      )}
    </div>
  );
}

/** The message of a failed form that belongs to no one field. */
export function FormError({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p className="form-error" role="alert">
      {message}
    </p>
  );
}
